export type { LoginOptions } from './core/session-state.js';
export { SessionHandle } from './core/session-handle.js';
export {
  NoSessionContextError,
  SessionCookieTooLargeError,
  SessionDataTooLargeError,
  SessionLimitExceededError,
  SessionRevokedError,
  SessionStoreUnavailableError,
  SessionTheftDetectedError,
} from './core/session.errors.js';
export * from './decorators/index.js';
export type * from './events/session-event.js';
export { SessionEvents, type SessionEventListener } from './events/session-events.js';
export * from './interfaces/index.js';
export {
  GraphQLSubscriptionSessions,
  type SubscriptionHandshake,
  type SubscriptionSessionContext,
} from './platform/graphql-subscriptions.js';
export { SessionOptionsError } from './options/session-options.error.js';
export { SessionGuard } from './session.guard.js';
export { SessionModule } from './session.module.js';
export type { PlainHeaders } from './core/headers.exchange.js';
export {
  SessionService,
  type DetachedSession,
  type RevokeAllOptions,
  type SessionInfo,
} from './session.service.js';
export {
  MemoryRevocationStore,
  type MemoryRevocationStoreOptions,
} from './stores/memory-revocation.store.js';
export { MemoryStore, type MemoryStoreOptions } from './stores/memory-session.store.js';
export {
  RedisStore,
  type RedisStoreClient,
  type RedisStoreOptions,
} from './stores/redis-session.store.js';
