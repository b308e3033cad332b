/**
 * What a store keeps for one session. Values in `data` are opaque strings produced by the
 * library (JSON, or sealed ciphertext when encryption at rest is on): a store saves and returns
 * them verbatim and never interprets them.
 */
export interface SessionRecord {
  /** Public session id: a one-way hash of the token, never the token itself. The store key. */
  id: string;
  /** The authenticated user, or `null` for an anonymous session. */
  userId: string | null;
  /** Session data, one encoded value per key. */
  data: Record<string, string>;
  /** Creation time, ms since the epoch. */
  createdAt: number;
  /** Last time activity was recorded (updated at most every `touchAfter`), ms since the epoch. */
  lastSeenAt: number;
  /** Time of the last login, ms since the epoch, or `null` while anonymous. */
  authenticatedAt: number | null;
  /** When the session ends unless touched: min(lastSeenAt + idle, createdAt + absolute). */
  expiresAt: number;
  /** Hard end of the session: createdAt + absolute timeout. Never moves. */
  absoluteExpiresAt: number;
  /** User agent of the client that created the session, truncated; for session listings. */
  userAgent: string | null;
}

/**
 * A change to an existing session: the keys written and the keys removed, plus the new
 * metadata. Stores that keep data per key apply only this, so that concurrent requests of one
 * session that change different keys do not overwrite each other.
 */
export interface SessionDelta {
  /** Keys written by this request, with their new encoded values. */
  set: Record<string, string>;
  /** Keys removed by this request. */
  deleted: string[];
}

/** What `SessionStore.touch` records: a later `lastSeenAt` and the expiry that follows from it. */
export interface SessionTouch {
  lastSeenAt: number;
  expiresAt: number;
}

/** What to do when a login would give a user more than `maxSessionsPerUser` sessions. */
export type SessionLimitPolicy = 'evict-oldest' | 'refuse';

/** Per-write limits the library passes to `SessionStore.set` for authenticated sessions. */
export interface SessionWriteOptions {
  /** Most live sessions one user may hold, this one included. */
  maxSessionsPerUser?: number;
  /**
   * `'evict-oldest'` (default): destroy the user's oldest sessions to make room.
   * `'refuse'`: reject with `SessionLimitExceededError` and store nothing.
   * Either way the check and the write are one atomic step: concurrent logins cannot exceed it.
   */
  limitPolicy?: SessionLimitPolicy;
}

/**
 * The contract every session store implements. All times are ms since the epoch; `ttlMs` is
 * always `expiresAt - now` and a store must not keep the session longer than that.
 *
 * A store reports an infrastructure failure (unreachable, timed out) by rejecting; the library
 * turns that into `503` on protected routes. It must never resolve a session it is unsure of.
 *
 * @example
 * ```ts
 * class MyStore implements SessionStore {
 *   async get(id) { ... }
 *   ...
 * }
 * SessionModule.forRoot({ secret, store: new MyStore() });
 * ```
 */
export interface SessionStore {
  /** The live session with this id, or `null` when unknown or expired. */
  get(id: string): Promise<SessionRecord | null>;
  /**
   * Stores a new session, or replaces one whole. Indexes it under its `userId`, if any, and
   * enforces `options.maxSessionsPerUser` atomically with the write.
   */
  set(record: SessionRecord, ttlMs: number, options?: SessionWriteOptions): Promise<void>;
  /**
   * Applies a delta to an existing session and moves its expiry to `touch.expiresAt`. Keys not
   * named in the delta are left as they are. Does nothing when the session no longer exists
   * (a revoked session must not come back).
   */
  update(id: string, delta: SessionDelta, touch: SessionTouch, ttlMs: number): Promise<void>;
  /** Records activity: moves `lastSeenAt` and the expiry. Does nothing for an unknown id. */
  touch(id: string, touch: SessionTouch, ttlMs: number): Promise<void>;
  /** Deletes a session and its index entry. Unknown ids are ignored. */
  destroy(id: string): Promise<void>;
  /** Live sessions of a user, oldest first. Drops index entries of sessions that have expired. */
  listByUser(userId: string): Promise<SessionRecord[]>;
  /** Deletes every session of a user except `exceptId`; resolves to how many were deleted. */
  destroyByUser(userId: string, exceptId?: string): Promise<number>;
  /** Releases timers and connections the store owns. Called on application shutdown. */
  close?(): Promise<void> | void;
}

/**
 * Injection token for the active store: `@Inject(SessionStore) store: SessionStore`.
 */
export const SessionStore = Symbol('SessionStore');
