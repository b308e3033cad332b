/** Options of `MemoryStore`. */
export interface MemoryStoreOptions {
  /**
   * Most authenticated sessions kept; the least recently used of them is evicted beyond it.
   * Default 100 000.
   */
  maxSessions?: number;
  /**
   * Most anonymous sessions kept: a budget of their own, so that anonymous visitors (who cost
   * nothing to create) can only ever evict each other, never a signed-in user's session.
   * Default: `maxSessions`.
   */
  maxAnonymousSessions?: number;
  /**
   * Most tombstones of rotated-out tokens kept (`rotateEvery`); beyond it the oldest is
   * forgotten, after which its token opens nothing and a replay of it is no longer reported as
   * theft. Default: `maxSessions`. See the README's "Token rotation".
   */
  maxTombstones?: number;
  /** How often expired sessions are swept, in ms. Default 60 000. */
  sweepIntervalMs?: number;
  /** Clock, for tests. Default `Date.now`. */
  now?: () => number;
}
