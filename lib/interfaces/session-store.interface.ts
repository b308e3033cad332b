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
  /**
   * The device key bound to the session (`deviceBound`), encoded by the library; absent or
   * `null` while none is. Never part of `data`. A store keeps it verbatim, returns it only when
   * set, and changes it only through `swapDeviceBinding`, or with a whole `set`.
   */
  deviceBinding?: string | null;
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

/** What the library passes to `SessionStore.set`: limits for authenticated sessions, and the move. */
export interface SessionWriteOptions {
  /**
   * Most live sessions one user may hold, this one included. The library passes it for every
   * authenticated session (default 50).
   */
  maxSessionsPerUser?: number;
  /**
   * `'evict-oldest'` (default): destroy the user's oldest sessions to make room.
   * `'refuse'`: reject with `SessionLimitExceededError` and store nothing.
   * Either way the check and the write are one atomic step: concurrent logins cannot exceed it.
   */
  limitPolicy?: SessionLimitPolicy;
  /**
   * Public id of the session `record` replaces: a login from a live session, or
   * `regenerate()`, moves the session to a new id. In ONE atomic step with the write, the store
   * - checks that the session `replaces` is still live; if it is not (logged out, revoked,
   *   evicted, expired, or already moved by a concurrent request) it rejects with
   *   `SessionRevokedError` and stores nothing, so a session that ended never comes back
   *   under a new id;
   * - leaves it out of the `maxSessionsPerUser` count (a move of one of the user's sessions
   *   is never refused and evicts no other session);
   * - deletes it, and its index entry.
   */
  replaces?: string;
}

/** What the library passes to `SessionStore.update`. */
export interface SessionUpdateOptions {
  /**
   * Most bytes of data the session may hold once the delta is applied to what is stored: the
   * sum of the UTF-8 lengths of every data key and value. Checked atomically with the write,
   * against the stored data (with what concurrent requests saved meanwhile), so concurrent
   * deltas cannot add up past it. Beyond it, the store rejects with
   * `SessionDataTooLargeError` (`key` `null`) and changes nothing.
   */
  maxDataSize?: number;
}

/**
 * The contract every session store implements. All times are ms since the epoch; `ttlMs` is
 * always `expiresAt - now` and a store must not keep the session longer than that.
 *
 * A store reports an infrastructure failure (unreachable, timed out) by rejecting; the library
 * turns that into `503` on protected routes. It must never resolve a session it is unsure of.
 *
 * **A session that ended never comes back.** No write may bring back a session that was
 * destroyed, evicted or has expired: `update` and `touch` of such a session, and `set` with
 * `replaces` naming one, reject with `SessionRevokedError` and write nothing. The library turns
 * that into `401`: no session and no cookie for the request that was in flight.
 *
 * Run `runSessionStoreConformance` (from `nest-secure-session/testing`) against a new store: it
 * checks every rule here, with forced interleavings of concurrent calls.
 *
 * @example
 * ```ts
 * class MyStore implements SessionStore {
 *   readonly supportsReplaces = true;
 *   async get(id) { ... }
 *   ...
 * }
 * SessionModule.forRoot({ secret, store: new MyStore() });
 * ```
 */
export interface SessionStore {
  /**
   * `true` when `set` honours `SessionWriteOptions.replaces`. The built-in stores do. For a
   * store without it the library keeps the older, non-atomic sequence (`set` the new session,
   * then `destroy` the old one), which a revocation racing the request can undo: declare it
   * once the store passes the conformance suite.
   */
  readonly supportsReplaces?: boolean;
  /** The live session with this id, or `null` when unknown or expired. */
  get(id: string): Promise<SessionRecord | null>;
  /**
   * Stores a new session, or replaces one whole. Indexes it under its `userId`, if any, and
   * enforces `options.maxSessionsPerUser` atomically with the write. With `options.replaces`,
   * moves a session to this new id (see `SessionWriteOptions.replaces`).
   */
  set(record: SessionRecord, ttlMs: number, options?: SessionWriteOptions): Promise<void>;
  /**
   * Applies a delta to an existing session and moves its expiry to `touch.expiresAt`. Keys not
   * named in the delta are left as they are. Rejects with `SessionRevokedError`, writing
   * nothing, when the session no longer exists (it must not come back), and with
   * `SessionDataTooLargeError` past `options.maxDataSize`.
   */
  update(
    id: string,
    delta: SessionDelta,
    touch: SessionTouch,
    ttlMs: number,
    options?: SessionUpdateOptions,
  ): Promise<void>;
  /**
   * Records activity: moves `lastSeenAt` and the expiry. Rejects with `SessionRevokedError`,
   * creating nothing, when the session no longer exists.
   */
  touch(id: string, touch: SessionTouch, ttlMs: number): Promise<void>;
  /**
   * Optional capability, required by `deviceBound`: sets the session's `deviceBinding` to
   * `next` if it is still `expected` (`null`: no binding yet), in one atomic step that changes
   * nothing else (data, expiry, index). Resolves `true` when it did, `false` when the stored
   * binding was another one (a concurrent registration or refresh won). Rejects with
   * `SessionRevokedError`, writing nothing, when the session no longer exists: a binding never
   * brings an ended session back.
   */
  swapDeviceBinding?(id: string, expected: string | null, next: string): Promise<boolean>;
  /** Deletes a session and its index entry. Unknown ids are ignored. */
  destroy(id: string): Promise<void>;
  /**
   * Live sessions of a user, oldest first; with `limit`, only the newest `limit` of them (the
   * library passes `maxSessionsPerUser`). Drops index entries of sessions that have expired.
   */
  listByUser(userId: string, limit?: number): Promise<SessionRecord[]>;
  /** Deletes every session of a user except `exceptId`; resolves to how many were deleted. */
  destroyByUser(userId: string, exceptId?: string): Promise<number>;
  /** Releases timers and connections the store owns. Called on application shutdown. */
  close?(): Promise<void> | void;
}

/**
 * Injection token for the active store: `@Inject(SessionStore) store: SessionStore`.
 */
export const SessionStore = Symbol('SessionStore');
