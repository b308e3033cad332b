/** What a revocation check needs to know of a stateless session (from its sealed cookie). */
export interface RevocationSubject {
  /** Public session id. */
  readonly id: string;
  /** The session's user, or `null` for an anonymous session. */
  readonly userId: string | null;
  /** Creation time of the session, ms since the epoch. */
  readonly createdAt: number;
}

/**
 * Where stateless mode (`store: 'cookie'`) remembers what a sealed cookie cannot forget: the
 * sessions that were logged out or revoked, and per user the time before which every session
 * is refused (`revokeAllForUser`). Separate from `SessionStore`: it holds no session, only
 * refusals, each until a time after which no cookie it concerns can be valid anyway.
 *
 * The one rule every implementation keeps: **an unexpired revocation is never forgotten.** A
 * store that runs out of room must fail closed (refuse more, never less) or reject the write;
 * it must never evict an entry before its `until` to make room for another.
 *
 * All times are ms since the epoch. `now` is the library's clock; a store that computes a TTL
 * uses it rather than its own, and defaults to `Date.now()` when it is not given. A store
 * reports an infrastructure failure by rejecting (the library answers `503`).
 *
 * @example
 * ```ts
 * SessionModule.forRoot({
 *   secret,
 *   store: 'cookie',
 *   revocationStore: new RedisStore({ client }), // shared by every instance
 * });
 * ```
 */
export interface RevocationStore {
  /** Refuses the session `id` until `until`. A later `until` than the one held extends it; an earlier one changes nothing. */
  revoke(id: string, until: number, now?: number): Promise<void>;
  /**
   * Refuses every session of `userId` created before `notBefore`, until `until`. Keeps the
   * latest `notBefore` and `until` it was given: a later call never shortens an earlier one.
   */
  revokeUser(userId: string, notBefore: number, until: number, now?: number): Promise<void>;
  /** Whether the session is refused: revoked by id, or created before its user's not-before. One round trip. */
  isRevoked(session: RevocationSubject, now?: number): Promise<boolean>;
  /** Releases timers and connections the store owns. Called on application shutdown. */
  close?(): Promise<void> | void;
}

/**
 * Injection token of the active revocation store in stateless mode (`null` with a server-side
 * store): `@Inject(RevocationStore) revocations: RevocationStore | null`.
 */
export const RevocationStore = Symbol('RevocationStore');
