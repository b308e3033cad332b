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
  /**
   * When token rotation (`rotateEvery`) last moved the session to a new token, ms since the
   * epoch; absent until the first rotation (the token is then as old as `createdAt`). A store
   * with `supportsRotation` keeps it and returns it as given.
   */
  rotatedAt?: number;
  /**
   * The id the session had before token rotation first moved it; absent until then. Its CSRF
   * token stays bound to this id, so a page keeps a valid token across rotations. A store with
   * `supportsRotation` keeps it and returns it as given.
   */
  originId?: string;
  /**
   * The coarse fingerprint of the client (hijack signals), recorded at login; `null` or absent
   * when none was. A store that has `setClient` keeps it verbatim: written by `set`, returned
   * by `get` and `listByUser`, replaced by `setClient`.
   */
  client?: ClientFingerprint | null;
}

/**
 * What hijack signals remember of the client that logged in. Never a raw address: the network
 * is a keyed hash.
 */
export interface ClientFingerprint {
  /** Browser family and major version, e.g. `'chrome/131'`; `null` when not a known browser. */
  agent: string | null;
  /**
   * HMAC-SHA-256 (128 bits, base64url; key derived from the secret) of the client's IPv4 /24
   * or IPv6 /64; `null` when not recorded.
   */
  network: string | null;
  /** Under `policy: 'step-up'`, the client changed: not fresh until the next login. */
  stepUp: boolean;
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
  /**
   * With `replaces` (stores with `supportsRotation` only): the move is a token rotation. In the
   * same atomic step as the move, instead of deleting the replaced id, the store leaves a
   * tombstone for it (`SessionTombstone`: the new id, this `graceEndsAt` and `successor`, the
   * user) that it keeps until the replaced session's `absoluteExpiresAt`. A replaced id that is
   * already a tombstone is not live: a concurrent rotation won, and this one is refused with
   * `SessionRevokedError` like any move of a session that is gone.
   */
  rotation?: SessionRotation;
}

/** What a token rotation leaves behind for the id it replaces (`SessionWriteOptions.rotation`). */
export interface SessionRotation {
  /** Until when (ms) the replaced token still leads to the new session: the grace window. */
  graceEndsAt: number;
  /**
   * Opaque to the store, kept verbatim: the new token sealed under a key only the replaced
   * token opens, so that a request in the grace window can be handed the new session, and a
   * store dump yields no token.
   */
  successor: string;
}

/** The tombstone of a rotated-out id (`SessionStore.getTombstone`). */
export interface SessionTombstone {
  /** The id the session was rotated to (which may itself have been rotated since). */
  successorId: string;
  /** `SessionRotation.graceEndsAt` as given. */
  graceEndsAt: number;
  /** `SessionRotation.successor` as given. */
  successor: string;
  /** The user of the rotated session. */
  userId: string | null;
}

/**
 * What `SessionStore.set` may resolve to: the sessions it ended to make room under
 * `maxSessionsPerUser` (`'evict-oldest'`). Optional for a custom store (resolving `undefined`
 * means "none reported"); the built-in stores always report them, and the library emits a
 * `revoked` event (`reason: 'limit-eviction'`) with these ids.
 */
export interface SessionSetResult {
  /** Public ids of the user's sessions this write deleted to keep within the limit. */
  evicted: string[];
}

/**
 * A session the store found expired, or that its backend reported expired (see
 * `SessionStore.watchExpiry`).
 */
export interface StoreExpiry {
  /** Public id of the session. */
  sessionId: string;
  /** Its user, when the store still knew it; `null` for a keyspace notification. */
  userId: string | null;
  /** `'seen'`: the store came upon it past its expiry; `'keyspace'`: Redis reported the key expired. */
  source: 'seen' | 'keyspace';
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
  /**
   * `true` when the store implements token rotation: `set` honours
   * `SessionWriteOptions.rotation` (with `replaces`), keeps `SessionRecord.rotatedAt`, and
   * `getTombstone` and `destroyRotated` exist. `rotateEvery` is refused at boot for a store
   * without it. The conformance suite checks it (with forced interleavings) when it is `true`.
   */
  readonly supportsRotation?: boolean;
  /** The live session with this id, or `null` when unknown or expired. */
  get(id: string): Promise<SessionRecord | null>;
  /**
   * Stores a new session, or replaces one whole. Indexes it under its `userId`, if any, and
   * enforces `options.maxSessionsPerUser` atomically with the write. With `options.replaces`,
   * moves a session to this new id (see `SessionWriteOptions.replaces`). May resolve
   * `{ evicted }`: the sessions the limit ended (see `SessionSetResult`).
   */
  set(
    record: SessionRecord,
    ttlMs: number,
    options?: SessionWriteOptions,
  ): Promise<void | SessionSetResult>;
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
  /**
   * Optional: reports sessions as they expire, to `listener`, until the function returned is
   * called. `MemoryStore` reports the expired sessions it comes upon (on read or sweep);
   * `RedisStore` reports Redis keyspace notifications when built with `expiryEvents: true`.
   * The library subscribes once at start-up and emits an `expired` event for each.
   */
  watchExpiry?(listener: (expiry: StoreExpiry) => void): () => void;
  /**
   * Optional (hijack signals): replaces the `client` fingerprint of a live session, leaving
   * everything else (data, expiry) as it is. Rejects with `SessionRevokedError`, writing
   * nothing, when the session no longer exists. Hijack signals are on by default only with a
   * store that has it (the built-in stores do).
   */
  setClient?(id: string, client: ClientFingerprint): Promise<void>;
  /**
   * `supportsRotation`: the tombstone a rotation left for `id`, or `null` when there is none (the
   * id is live, unknown, ended otherwise, or its tombstone expired or was removed). A tombstone
   * is never a session: `get`, `update`, `touch` and moves treat its id as gone.
   */
  getTombstone?(id: string): Promise<SessionTombstone | null>;
  /**
   * `supportsRotation`: ends the session `id` and every session it was rotated into since,
   * following tombstones (and removing them) to the live end of the chain. A rotation racing it
   * cannot escape: each step is atomic with the rotations of the id it handles, so either the
   * rotation finds its session gone (and is refused) or this call finds its tombstone (and
   * follows it). Resolves to the ids of the live sessions it ended (usually one, or none).
   */
  destroyRotated?(id: string): Promise<string[]>;
  /** Releases timers and connections the store owns. Called on application shutdown. */
  close?(): Promise<void> | void;
}

/**
 * Injection token for the active store: `@Inject(SessionStore) store: SessionStore`.
 */
export const SessionStore = Symbol('SessionStore');
