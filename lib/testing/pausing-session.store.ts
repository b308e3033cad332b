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
import { destroyRotatedIn } from '../stores/destroy-rotated.js';

/** The `SessionStore` methods a `PausingStore` can hold. */
export type PausableMethod =
  | 'get'
  | 'set'
  | 'update'
  | 'touch'
  | 'swapDeviceBinding'
  | 'destroy'
  | 'listByUser'
  | 'destroyByUser'
  | 'setClient'
  | 'getTombstone'
  | 'destroyRotated';

/** Calls held by `PausingStore.hold()`: they wait, before reaching the store, until released. */
export interface HeldCalls {
  /** Resolves once `count` matching calls have arrived (and are waiting). */
  readonly reached: Promise<void>;
  /** Lets the held calls (and any later match) through to the store. */
  release(): void;
}

interface Hold {
  readonly method: PausableMethod;
  readonly matches: (args: unknown[]) => boolean;
  readonly count: number;
  arrived: number;
  readonly arrivedAll: () => void;
  readonly released: Promise<void>;
}

/**
 * A `SessionStore` that passes every call through to another one, except the calls a test
 * holds: those wait, before they reach the store, until the test releases them. It forces the
 * interleavings that concurrency bugs need (a save in flight while its session is revoked) in
 * a store-independent way, for the conformance suite and an app's own end-to-end tests.
 *
 * @example
 * ```ts
 * const store = new PausingStore(new MemoryStore());
 * const held = store.hold('set');             // the next save waits…
 * const login = request(app).post('/login');  // …this one
 * await held.reached;
 * await request(app).post('/logout-all');     // the session it replaces ends meanwhile
 * held.release();                             // the login now gets 401, no cookie
 * ```
 */
export class PausingStore implements SessionStore {
  private readonly holds: Hold[] = [];

  constructor(readonly inner: SessionStore) {}

  get supportsReplaces(): boolean | undefined {
    return this.inner.supportsReplaces;
  }

  get supportsRotation(): boolean | undefined {
    return this.inner.supportsRotation;
  }

  /**
   * Holds every call of `method` whose arguments satisfy `matches` (default: any) from now
   * until `release()`; `reached` resolves once `count` (default 1) of them are waiting.
   */
  hold(
    method: PausableMethod,
    options: { count?: number; matches?: (args: unknown[]) => boolean } = {},
  ): HeldCalls {
    let arrivedAll!: () => void;
    let release!: () => void;
    const reached = new Promise<void>((resolve) => (arrivedAll = resolve));
    const released = new Promise<void>((resolve) => (release = resolve));
    const hold: Hold = {
      method,
      matches: options.matches ?? (() => true),
      count: options.count ?? 1,
      arrived: 0,
      arrivedAll,
      released,
    };
    this.holds.push(hold);
    return {
      reached,
      release: () => {
        const at = this.holds.indexOf(hold);
        if (at !== -1) {
          this.holds.splice(at, 1);
        }
        release();
      },
    };
  }

  get(id: string): Promise<SessionRecord | null> {
    return this.pass('get', [id], () => this.inner.get(id));
  }

  set(
    record: SessionRecord,
    ttlMs: number,
    options?: SessionWriteOptions,
  ): Promise<void | SessionSetResult> {
    return this.pass('set', [record, ttlMs, options], () => this.inner.set(record, ttlMs, options));
  }

  update(
    id: string,
    delta: SessionDelta,
    touch: SessionTouch,
    ttlMs: number,
    options?: SessionUpdateOptions,
  ): Promise<void> {
    return this.pass('update', [id, delta, touch, ttlMs, options], () =>
      this.inner.update(id, delta, touch, ttlMs, options),
    );
  }

  touch(id: string, touch: SessionTouch, ttlMs: number): Promise<void> {
    return this.pass('touch', [id, touch, ttlMs], () => this.inner.touch(id, touch, ttlMs));
  }

  swapDeviceBinding(id: string, expected: string | null, next: string): Promise<boolean> {
    return this.pass('swapDeviceBinding', [id, expected, next], () => {
      if (this.inner.swapDeviceBinding === undefined) {
        throw new TypeError('The inner store does not implement swapDeviceBinding');
      }
      return this.inner.swapDeviceBinding(id, expected, next);
    });
  }

  destroy(id: string): Promise<void> {
    return this.pass('destroy', [id], () => this.inner.destroy(id));
  }

  listByUser(userId: string, limit?: number): Promise<SessionRecord[]> {
    return this.pass('listByUser', [userId, limit], () => this.inner.listByUser(userId, limit));
  }

  destroyByUser(userId: string, exceptId?: string): Promise<number> {
    return this.pass('destroyByUser', [userId, exceptId], () =>
      this.inner.destroyByUser(userId, exceptId),
    );
  }

  setClient(id: string, client: ClientFingerprint): Promise<void> {
    return this.pass('setClient', [id, client], async () => this.inner.setClient?.(id, client));
  }

  watchExpiry(listener: (expiry: StoreExpiry) => void): () => void {
    return this.inner.watchExpiry?.(listener) ?? (() => undefined);
  }

  /** The inner store's `getTombstone` (`null` for a store without rotation). */
  getTombstone(id: string): Promise<SessionTombstone | null> {
    return this.pass('getTombstone', [id], () =>
      this.inner.getTombstone === undefined ? Promise.resolve(null) : this.inner.getTombstone(id),
    );
  }

  /** The inner store's `destroyRotated` (a plain `destroy` for a store without rotation). */
  destroyRotated(id: string): Promise<string[]> {
    return this.pass('destroyRotated', [id], () => destroyRotatedIn(this.inner, id));
  }

  close(): Promise<void> | void {
    return this.inner.close?.();
  }

  private async pass<T>(
    method: PausableMethod,
    args: unknown[],
    call: () => Promise<T>,
  ): Promise<T> {
    const hold = this.holds.find((entry) => entry.method === method && entry.matches(args));
    if (hold !== undefined) {
      hold.arrived++;
      if (hold.arrived >= hold.count) {
        hold.arrivedAll();
      }
      await hold.released;
    }
    return call();
  }
}
