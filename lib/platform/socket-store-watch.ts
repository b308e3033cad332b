import type {
  RevocationStore,
  RevocationSubject,
} from '../interfaces/revocation-store.interface.js';
import type {
  ClientFingerprint,
  SessionDelta,
  SessionRecord,
  SessionSetResult,
  SessionStore,
  SessionTombstone,
  SessionTouch,
  SessionUpdateOptions,
  SessionWriteOptions,
  StoreExpiry,
} from '../interfaces/session-store.interface.js';
import type { SessionHint } from './socket-registry.js';

/**
 * The application's store as the session runtime uses it: every call forwarded unchanged,
 * and, once a call that can end sessions succeeds (`destroy`, `destroyByUser`, and `set`,
 * which may evict a user's oldest session), the sessions it may have ended are named to a
 * listener, which closes their sockets in this process at once. Stateless revocations reach it
 * through `watchRevocations`. Other processes' sockets learn of it at their next periodic check.
 */
export class WatchedStore implements SessionStore {
  private listener: ((hint: SessionHint) => void) | null = null;

  constructor(private readonly inner: SessionStore) {}

  /** The inner store's: a move is atomic only where the store says so. */
  get supportsReplaces(): boolean | undefined {
    return this.inner.supportsReplaces;
  }

  /** The inner store's: rotation is offered only where the store implements it. */
  get supportsRotation(): boolean | undefined {
    return this.inner.supportsRotation;
  }

  /** Sets the one listener told of calls that may have ended sessions. */
  listen(listener: (hint: SessionHint) => void): void {
    this.listener = listener;
  }

  get(id: string): Promise<SessionRecord | null> {
    return this.inner.get(id);
  }

  async set(
    record: SessionRecord,
    ttlMs: number,
    options?: SessionWriteOptions,
  ): Promise<void | SessionSetResult> {
    const result = await this.inner.set(record, ttlMs, options);
    const ids = [record.id, ...(result?.evicted ?? [])];
    this.tell({ ids, userIds: record.userId === null ? [] : [record.userId] });
    return result;
  }

  update(
    id: string,
    delta: SessionDelta,
    touch: SessionTouch,
    ttlMs: number,
    options?: SessionUpdateOptions,
  ): Promise<void> {
    return this.inner.update(id, delta, touch, ttlMs, options);
  }

  touch(id: string, touch: SessionTouch, ttlMs: number): Promise<void> {
    return this.inner.touch(id, touch, ttlMs);
  }

  /** The inner store's (`deviceBound` checks at start-up that it has one). */
  swapDeviceBinding(id: string, expected: string | null, next: string): Promise<boolean> {
    if (this.inner.swapDeviceBinding === undefined) {
      return Promise.reject(
        new TypeError('The session store does not implement swapDeviceBinding'),
      );
    }
    return this.inner.swapDeviceBinding(id, expected, next);
  }

  async destroy(id: string): Promise<void> {
    await this.inner.destroy(id);
    this.tell({ ids: [id] });
  }

  getTombstone(id: string): Promise<SessionTombstone | null> {
    return this.inner.getTombstone?.(id) ?? Promise.resolve(null);
  }

  async destroyRotated(id: string): Promise<string[]> {
    if (this.inner.destroyRotated === undefined) {
      await this.destroy(id);
      return [];
    }
    const ended = await this.inner.destroyRotated(id);
    this.tell({ ids: [id, ...ended] });
    return ended;
  }

  async destroyByUser(userId: string, exceptId?: string): Promise<number> {
    const count = await this.inner.destroyByUser(userId, exceptId);
    this.tell({ userIds: [userId] });
    return count;
  }

  listByUser(userId: string, limit?: number): Promise<SessionRecord[]> {
    return this.inner.listByUser(userId, limit);
  }

  async setClient(id: string, client: ClientFingerprint): Promise<void> {
    await this.inner.setClient?.(id, client);
  }

  watchExpiry(listener: (expiry: StoreExpiry) => void): () => void {
    return this.inner.watchExpiry?.(listener) ?? (() => undefined);
  }

  /** The revocation store (stateless mode) as the runtime uses it: revocations told likewise. */
  watchRevocations(revocations: RevocationStore | null): RevocationStore | null {
    if (revocations === null) {
      return null;
    }
    return {
      revoke: async (id: string, until: number, now?: number) => {
        await revocations.revoke(id, until, now);
        this.tell({ ids: [id] });
      },
      revokeUser: async (userId: string, notBefore: number, until: number, now?: number) => {
        await revocations.revokeUser(userId, notBefore, until, now);
        this.tell({ userIds: [userId] });
      },
      isRevoked: (session: RevocationSubject, now?: number) => revocations.isRevoked(session, now),
    };
  }

  private tell(hint: SessionHint): void {
    try {
      this.listener?.(hint);
    } catch {
      // Closing sockets early is a courtesy: the periodic check closes them anyway.
    }
  }
}
