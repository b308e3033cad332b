/** Why a session ended before its time. */
export type SessionEndReason =
  /** `SessionService.logout()` (or `session.destroy()`). */
  | 'logout'
  /** `SessionService.revoke(id)`. */
  | 'revoke'
  /** `SessionService.revokeAllForUser()`. */
  | 'revoke-all'
  /** A login beyond `maxSessionsPerUser` under `'evict-oldest'`. */
  | 'limit-eviction'
  /** A rotated-out token came back after its grace window (`rotateEvery`). */
  | 'theft-detected'
  /** A device-bound session's refresh failed its proof of possession (`deviceBound`). */
  | 'device-proof-failed'
  /** The client no longer matched the one that logged in (`hijackSignals`, policy `'revoke'`). */
  | 'hijack-suspected';

/** What every event carries. Never a token, a cookie value or session data. */
export interface SessionEventBase {
  /** When the library saw it happen. */
  at: Date;
}

/** A new anonymous session was saved (the first time it held data). */
export interface SessionCreatedEvent extends SessionEventBase {
  type: 'created';
  sessionId: string;
}

/** A login was saved: `sessionId` is the new session, `previousSessionId` the one it replaced. */
export interface SessionAuthenticatedEvent extends SessionEventBase {
  type: 'authenticated';
  sessionId: string;
  userId: string;
  previousSessionId: string | null;
}

/** A session moved to a new id (`regenerate()`, or a token rotation under `rotateEvery`). */
export interface SessionRegeneratedEvent extends SessionEventBase {
  type: 'regenerated';
  sessionId: string;
  previousSessionId: string;
  userId: string | null;
  /** `'regenerate'` for `session.regenerate()`, `'rotation'` for `rotateEvery`. */
  cause: 'regenerate' | 'rotation';
}

/**
 * Sessions ended before their time. `sessionIds` lists the ended ids the library knows (empty
 * for a stateless revoke-all, which ends every session of the user created until then).
 */
export interface SessionRevokedEvent extends SessionEventBase {
  type: 'revoked';
  reason: SessionEndReason;
  userId: string | null;
  sessionIds: string[];
  /** How many sessions ended, when known (`-1` when not: stateless revoke-all). */
  count: number;
}

/**
 * A session was found expired (`source: 'seen'`: by the library, or by `MemoryStore`, on a
 * request or a sweep; a stateless cookie each time it comes back), or Redis reported its key
 * expired (`source: 'keyspace'`, `RedisStore` with `expiryEvents: true`).
 */
export interface SessionExpiredEvent extends SessionEventBase {
  type: 'expired';
  sessionId: string;
  /** `null` when the store no longer knows it (a Redis keyspace notification). */
  userId: string | null;
  source: 'seen' | 'keyspace';
}

/** A store call failed; the request was answered `503`. */
export interface SessionStoreFailureEvent extends SessionEventBase {
  type: 'store-failure';
  /** The store method that failed: `'get'`, `'set'`, `'update'`, … */
  operation: string;
  /** The error's class name (its message may name hosts; it is not included). */
  error: string;
}

/** The client of a session no longer looks like the one that logged in (`hijackSignals`). */
export interface SessionHijackSuspectedEvent extends SessionEventBase {
  type: 'hijack-suspected';
  sessionId: string;
  userId: string | null;
  /** Which parts of the coarse fingerprint changed. */
  changed: Array<'user-agent' | 'network'>;
  /** What the library did about it. */
  action: 'log' | 'step-up' | 'revoke';
}

/** A device-bound session registered its key, or refreshed its bound cookie (`deviceBound`). */
export interface SessionDeviceBoundEvent extends SessionEventBase {
  type: 'device-bound';
  sessionId: string;
  userId: string | null;
  /** `'registered'`: a key was bound; `'refreshed'`: a proof renewed the bound cookie. */
  action: 'registered' | 'refreshed';
}

/** Everything a session event hook receives, told apart by `type`. */
export type SessionEvent =
  | SessionCreatedEvent
  | SessionAuthenticatedEvent
  | SessionRegeneratedEvent
  | SessionRevokedEvent
  | SessionExpiredEvent
  | SessionStoreFailureEvent
  | SessionHijackSuspectedEvent
  | SessionDeviceBoundEvent;

/** The `type` of a session event. */
export type SessionEventType = SessionEvent['type'];

/** The event of one `type`, with `at` filled in by the library. */
export type SessionEventOf<T extends SessionEventType> = Extract<SessionEvent, { type: T }>;
