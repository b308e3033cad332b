export * from './device-bound.decorator.js';
export * from './fresh-session.decorator.js';
export * from './public.decorator.js';
export * from './roles.decorator.js';
export * from './session.decorator.js';
export * from './skip-csrf.decorator.js';
