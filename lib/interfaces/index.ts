export * from './revocation-store.interface.js';
export * from './session-data.interface.js';
export * from './session-module-options.interface.js';
export * from './session-options-factory.interface.js';
export * from './session-store.interface.js';
