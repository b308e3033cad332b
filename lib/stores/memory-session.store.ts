import { encodedSize } from '../core/session-data.codec.js';
import {
  SessionDataTooLargeError,
  SessionLimitExceededError,
  SessionRevokedError,
} from '../core/session.errors.js';
import type {
  ClientFingerprint,
  SessionDelta,
  SessionRecord,
  SessionSetResult,
  SessionStore,
  SessionTombstone,
  StoreExpiry,
  SessionTouch,
  SessionUpdateOptions,
  SessionWriteOptions,
} from '../interfaces/session-store.interface.js';
import { copyOf, RecencyList, storedCopyOf, type StoredSession } from './memory-session.records.js';
import type { MemoryStoreOptions } from './memory-store.options.js';
import { MemoryTombstones } from './memory-tombstones.js';

export type { MemoryStoreOptions } from './memory-store.options.js';

/**
 * A bounded, expiring in-process store: the default. Sessions live in one process, so use it
 * for development, tests and single-instance apps; use `RedisStore` behind a load balancer.
 *
 * Every operation is O(1): a `Map` in (approximately) least-recently-used order, expiry checked
 * on read, and a periodic sweep that stops at the first live session. It keeps copies, so a
 * handler cannot change stored state by reference. Anonymous and authenticated sessions are
 * kept apart, each with its own capacity and recency order.
 *
 * Every operation runs synchronously from its checks to its writes, so each is atomic: a move
 * (`set` with `replaces`), an update or a touch of a session that has just been destroyed or
 * evicted is refused with `SessionRevokedError`, and concurrent logins cannot pass
 * `maxSessionsPerUser`.
 *
 * Recency is kept lazily: a read moves a session to the young end only once it has drifted into
 * the older half of the map. Moving it on every read (delete + set) would leave a deleted entry
 * in the map's hash chains each time, and hot sessions in a large store would slow down until
 * the next rehash. Eviction still takes a session that was not read since it entered that half.
 */
export class MemoryStore implements SessionStore {
  readonly supportsReplaces = true;
  readonly supportsRotation = true;
  private readonly authenticated: RecencyList;
  private readonly anonymous: RecencyList;
  private readonly tombstones: MemoryTombstones;
  private readonly idsByUser = new Map<string, Set<string>>();
  private readonly now: () => number;
  private readonly sweepTimer: NodeJS.Timeout;
  private readonly expiryListeners = new Set<(expiry: StoreExpiry) => void>();

  constructor(options: MemoryStoreOptions = {}) {
    const maxSessions = options.maxSessions ?? 100_000;
    this.authenticated = new RecencyList(maxSessions);
    this.anonymous = new RecencyList(options.maxAnonymousSessions ?? maxSessions);
    this.now = options.now ?? Date.now;
    this.tombstones = new MemoryTombstones(options.maxTombstones ?? maxSessions, this.now);
    this.sweepTimer = setInterval(() => this.sweepExpired(), options.sweepIntervalMs ?? 60_000);
    this.sweepTimer.unref();
  }

  /** Number of sessions held, expired ones not yet swept included. */
  get size(): number {
    return this.authenticated.sessions.size + this.anonymous.sessions.size;
  }

  /** Number of tombstones of rotated-out tokens held (see `maxTombstones`). */
  get tombstoneCount(): number {
    return this.tombstones.size;
  }

  async get(id: string): Promise<SessionRecord | null> {
    const record = this.liveRecord(id);
    if (record === undefined) {
      return null;
    }
    const list = this.listOf(record);
    if (list.insertions - record.position > list.sessions.size >> 1) {
      // In the older half: move to the most recently used end.
      list.sessions.delete(id);
      record.position = ++list.insertions;
      list.sessions.set(id, record);
    }
    return copyOf(record);
  }

  async set(
    record: SessionRecord,
    _ttlMs: number,
    options: SessionWriteOptions = {},
  ): Promise<SessionSetResult> {
    // Synchronous from here to the insert: no other call can interleave with the checks.
    const { maxSessionsPerUser: limit, replaces } = options;
    const evicted: string[] = [];
    const replaced = replaces === undefined ? undefined : this.liveRecord(replaces);
    if (replaces !== undefined && replaced === undefined) {
      throw new SessionRevokedError();
    }
    if (record.userId !== null && limit !== undefined) {
      const others = this.liveSessionsOf(record.userId).filter(
        ({ id }) => id !== record.id && id !== replaces,
      );
      if (others.length >= limit) {
        if (options.limitPolicy !== 'refuse') {
          for (const oldest of others.slice(0, others.length - limit + 1)) {
            this.remove(oldest);
            evicted.push(oldest.id);
          }
        } else if (replaced?.userId !== record.userId) {
          // A move of one of the user's own sessions adds none: never refused.
          throw new SessionLimitExceededError(limit);
        }
      }
    }
    if (replaced !== undefined) {
      this.remove(replaced);
      if (options.rotation !== undefined) {
        const { graceEndsAt, successor } = options.rotation;
        const tombstone = {
          successorId: record.id,
          graceEndsAt,
          successor,
          userId: replaced.userId,
        };
        this.tombstones.add(replaced.id, tombstone, replaced.absoluteExpiresAt);
      }
    }
    const previous = this.find(record.id);
    if (previous !== undefined) {
      this.remove(previous);
    }
    this.insert(storedCopyOf(record));
    return { evicted };
  }

  async update(
    id: string,
    delta: SessionDelta,
    touch: SessionTouch,
    _ttlMs: number,
    options: SessionUpdateOptions = {},
  ): Promise<void> {
    const record = this.liveRecord(id);
    if (record === undefined) {
      throw new SessionRevokedError();
    }
    const data = { ...record.data, ...delta.set };
    for (const key of delta.deleted) {
      delete data[key];
    }
    const limit = options.maxDataSize;
    if (limit !== undefined) {
      const size = encodedSize(data);
      if (size > limit) {
        throw new SessionDataTooLargeError(null, size, limit);
      }
    }
    // The stored record is the store's own copy: it may change in place.
    record.data = data;
    record.lastSeenAt = touch.lastSeenAt;
    record.expiresAt = touch.expiresAt;
  }

  async touch(id: string, touch: SessionTouch): Promise<void> {
    const record = this.liveRecord(id);
    if (record === undefined) {
      throw new SessionRevokedError();
    }
    record.lastSeenAt = touch.lastSeenAt;
    record.expiresAt = touch.expiresAt;
  }

  async setClient(id: string, client: ClientFingerprint): Promise<void> {
    const record = this.liveRecord(id);
    if (record === undefined) {
      throw new SessionRevokedError();
    }
    record.client = { ...client };
  }

  async swapDeviceBinding(id: string, expected: string | null, next: string): Promise<boolean> {
    const record = this.liveRecord(id);
    if (record === undefined) {
      throw new SessionRevokedError();
    }
    if (record.deviceBinding !== expected) {
      return false;
    }
    record.deviceBinding = next;
    return true;
  }

  async destroy(id: string): Promise<void> {
    const record = this.find(id);
    if (record !== undefined) {
      this.remove(record);
    }
  }

  async getTombstone(id: string): Promise<SessionTombstone | null> {
    return this.find(id) === undefined ? this.tombstones.get(id) : null;
  }

  async destroyRotated(id: string): Promise<string[]> {
    return this.tombstones.endChain(id, (next) => {
      const record = this.find(next);
      if (record !== undefined) {
        this.remove(record);
      }
      return record?.id ?? null;
    });
  }

  async listByUser(userId: string, limit?: number): Promise<SessionRecord[]> {
    const live = this.liveSessionsOf(userId);
    const from = limit === undefined ? 0 : Math.max(0, live.length - limit);
    return live.slice(from).map(copyOf);
  }

  async destroyByUser(userId: string, exceptId?: string): Promise<number> {
    let destroyed = 0;
    for (const id of [...(this.idsByUser.get(userId) ?? [])]) {
      const record = this.authenticated.sessions.get(id);
      if (record !== undefined && id !== exceptId) {
        this.remove(record);
        destroyed++;
      }
    }
    return destroyed;
  }

  /** Reports every expired session the store comes upon (on read, listing or sweep) as `'seen'`. */
  watchExpiry(listener: (expiry: StoreExpiry) => void): () => void {
    this.expiryListeners.add(listener);
    return () => {
      this.expiryListeners.delete(listener);
    };
  }

  close(): void {
    clearInterval(this.sweepTimer);
    this.expiryListeners.clear();
  }

  /**
   * Deletes expired sessions from the least recently used end, stopping at the first live one:
   * sessions behind it were used more recently. Expired sessions further in are caught on read.
   */
  sweepExpired(): void {
    this.tombstones.sweep();
    const now = this.now();
    for (const list of [this.anonymous, this.authenticated]) {
      for (const record of list.sessions.values()) {
        if (record.expiresAt > now) {
          break;
        }
        this.expire(record);
      }
    }
  }

  /** The user's sessions, oldest first; expired ones are removed on the way. */
  private liveSessionsOf(userId: string): StoredSession[] {
    const now = this.now();
    const live: StoredSession[] = [];
    for (const id of this.idsByUser.get(userId) ?? []) {
      const record = this.authenticated.sessions.get(id);
      if (record !== undefined && record.expiresAt <= now) {
        this.expire(record);
      } else if (record !== undefined) {
        live.push(record);
      }
    }
    return live.sort((a, b) => a.createdAt - b.createdAt);
  }

  private find(id: string): StoredSession | undefined {
    return this.authenticated.sessions.get(id) ?? this.anonymous.sessions.get(id);
  }

  /** The stored record if it is still live; an expired one is removed. */
  private liveRecord(id: string): StoredSession | undefined {
    const record = this.find(id);
    if (record !== undefined && record.expiresAt <= this.now()) {
      this.expire(record);
      return undefined;
    }
    return record;
  }

  /** The budget a session counts against: a record's `userId` never changes once stored. */
  private listOf(record: SessionRecord): RecencyList {
    return record.userId === null ? this.anonymous : this.authenticated;
  }

  private insert(record: StoredSession): void {
    const list = this.listOf(record);
    if (list.sessions.size >= list.capacity) {
      const leastRecentlyUsed = list.sessions.values().next().value;
      if (leastRecentlyUsed !== undefined) {
        this.remove(leastRecentlyUsed);
      }
    }
    record.position = ++list.insertions;
    list.sessions.set(record.id, record);
    if (record.userId !== null) {
      let ids = this.idsByUser.get(record.userId);
      if (ids === undefined) {
        ids = new Set();
        this.idsByUser.set(record.userId, ids);
      }
      ids.add(record.id);
    }
  }

  /** Removes an expired session and reports it to the expiry listeners. */
  private expire(record: StoredSession): void {
    this.remove(record);
    for (const listener of this.expiryListeners) {
      listener({ sessionId: record.id, userId: record.userId, source: 'seen' });
    }
  }

  private remove(record: StoredSession): void {
    this.listOf(record).sessions.delete(record.id);
    if (record.userId !== null) {
      const ids = this.idsByUser.get(record.userId);
      ids?.delete(record.id);
      if (ids?.size === 0) {
        this.idsByUser.delete(record.userId);
      }
    }
  }
}
