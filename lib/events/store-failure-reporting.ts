import { isStoreAnswer } from '../core/session.errors.js';
import { destroyRotatedIn } from '../stores/destroy-rotated.js';
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
import type { SessionEvents } from './session-events.js';

/**
 * The store as the session runtime calls it: every call forwarded unchanged, and each failure
 * (anything but the answers the contract gives: limit reached, session ended, data too large)
 * reported as a `store-failure` event naming the method and the error's class, never its
 * message (which may name hosts), before it rejects on to become a `503`.
 *
 * @internal
 */
export class FailureReportingStore implements SessionStore {
  constructor(
    private readonly inner: SessionStore,
    private readonly events: SessionEvents,
  ) {}

  get supportsReplaces(): boolean | undefined {
    return this.inner.supportsReplaces;
  }

  get supportsRotation(): boolean | undefined {
    return this.inner.supportsRotation;
  }

  get(id: string): Promise<SessionRecord | null> {
    return reported(this.events, 'get', () => this.inner.get(id));
  }

  set(
    record: SessionRecord,
    ttlMs: number,
    options?: SessionWriteOptions,
  ): Promise<void | SessionSetResult> {
    return reported(this.events, 'set', () => this.inner.set(record, ttlMs, options));
  }

  update(
    id: string,
    delta: SessionDelta,
    touch: SessionTouch,
    ttlMs: number,
    options?: SessionUpdateOptions,
  ): Promise<void> {
    return reported(this.events, 'update', () =>
      this.inner.update(id, delta, touch, ttlMs, options),
    );
  }

  touch(id: string, touch: SessionTouch, ttlMs: number): Promise<void> {
    return reported(this.events, 'touch', () => this.inner.touch(id, touch, ttlMs));
  }

  destroy(id: string): Promise<void> {
    return reported(this.events, 'destroy', () => this.inner.destroy(id));
  }

  listByUser(userId: string, limit?: number): Promise<SessionRecord[]> {
    return reported(this.events, 'listByUser', () => this.inner.listByUser(userId, limit));
  }

  destroyByUser(userId: string, exceptId?: string): Promise<number> {
    return reported(this.events, 'destroyByUser', () => this.inner.destroyByUser(userId, exceptId));
  }

  setClient(id: string, client: ClientFingerprint): Promise<void> {
    return reported(this.events, 'setClient', async () => this.inner.setClient?.(id, client));
  }

  watchExpiry(listener: (expiry: StoreExpiry) => void): () => void {
    return this.inner.watchExpiry?.(listener) ?? (() => undefined);
  }

  swapDeviceBinding(id: string, expected: string | null, next: string): Promise<boolean> {
    return reported(this.events, 'swapDeviceBinding', async () => {
      if (this.inner.swapDeviceBinding === undefined) {
        throw new TypeError('The session store does not implement swapDeviceBinding');
      }
      return this.inner.swapDeviceBinding(id, expected, next);
    });
  }

  getTombstone(id: string): Promise<SessionTombstone | null> {
    return reported(this.events, 'getTombstone', async () => this.inner.getTombstone?.(id) ?? null);
  }

  destroyRotated(id: string): Promise<string[]> {
    return reported(this.events, 'destroyRotated', () => destroyRotatedIn(this.inner, id));
  }

  close(): Promise<void> | void {
    return this.inner.close?.();
  }
}

/** The revocation store (stateless mode) with its failures reported likewise. */
export function failureReportingRevocations(
  revocations: RevocationStore,
  events: SessionEvents,
): RevocationStore {
  return {
    revoke: (id: string, until: number, now?: number) =>
      reported(events, 'revoke', () => revocations.revoke(id, until, now)),
    revokeUser: (userId: string, notBefore: number, until: number, now?: number) =>
      reported(events, 'revokeUser', () => revocations.revokeUser(userId, notBefore, until, now)),
    isRevoked: (session: RevocationSubject, now?: number) =>
      reported(events, 'isRevoked', () => revocations.isRevoked(session, now)),
    close: () => revocations.close?.(),
  };
}

/**
 * `call()`'s promise, its failures reported on the way. No async frame of its own: every store
 * call of every request goes through here.
 */
function reported<T>(events: SessionEvents, operation: string, call: () => Promise<T>): Promise<T> {
  let pending: Promise<T>;
  try {
    pending = call();
  } catch (error) {
    pending = Promise.reject(error);
  }
  return pending.catch((error: unknown) => {
    if (!isStoreAnswer(error)) {
      events.emit({
        type: 'store-failure',
        operation,
        error: error instanceof Error ? error.constructor.name : typeof error,
      });
    }
    throw error;
  });
}
