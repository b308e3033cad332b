import { SessionLimitExceededError } from '../core/session.errors.js';
import type {
  SessionDelta,
  SessionRecord,
  SessionStore,
  SessionTouch,
  SessionWriteOptions,
} from '../interfaces/session-store.interface.js';

/** Options of `MemoryStore`. */
export interface MemoryStoreOptions {
  /** Most sessions kept; the least recently used is evicted beyond it. Default 100 000. */
  maxSessions?: number;
  /** How often expired sessions are swept, in ms. Default 60 000. */
  sweepIntervalMs?: number;
  /** Clock, for tests. Default `Date.now`. */
  now?: () => number;
}

/**
 * A bounded, expiring in-process store: the default. Sessions live in one process, so use it
 * for development, tests and single-instance apps; use `RedisStore` behind a load balancer.
 *
 * Every operation is O(1): a `Map` in (approximately) least-recently-used order, expiry checked
 * on read, and a periodic sweep that stops at the first live session. It keeps copies, so a
 * handler cannot change stored state by reference.
 *
 * Recency is kept lazily: a read moves a session to the young end only once it has drifted into
 * the older half of the map. Moving it on every read (delete + set) would leave a deleted entry
 * in the map's hash chains each time, and hot sessions in a large store would slow down until
 * the next rehash. Eviction still takes a session that was not read since it entered that half.
 */
export class MemoryStore implements SessionStore {
  private readonly sessions = new Map<string, StoredSession>();
  /** Insertions so far; a session's `position` is the value at its last (re)insertion. */
  private insertions = 0;
  private readonly idsByUser = new Map<string, Set<string>>();
  private readonly maxSessions: number;
  private readonly now: () => number;
  private readonly sweepTimer: NodeJS.Timeout;

  constructor(options: MemoryStoreOptions = {}) {
    this.maxSessions = options.maxSessions ?? 100_000;
    this.now = options.now ?? Date.now;
    this.sweepTimer = setInterval(() => this.sweepExpired(), options.sweepIntervalMs ?? 60_000);
    this.sweepTimer.unref();
  }

  /** Number of sessions held, expired ones not yet swept included. */
  get size(): number {
    return this.sessions.size;
  }

  async get(id: string): Promise<SessionRecord | null> {
    const record = this.liveRecord(id);
    if (record === undefined) {
      return null;
    }
    if (this.insertions - record.position > this.sessions.size >> 1) {
      // In the older half: move to the most recently used end.
      this.sessions.delete(id);
      record.position = ++this.insertions;
      this.sessions.set(id, record);
    }
    return copyOf(record);
  }

  async set(
    record: SessionRecord,
    _ttlMs: number,
    options: SessionWriteOptions = {},
  ): Promise<void> {
    const limit = options.maxSessionsPerUser;
    if (record.userId !== null && limit !== undefined) {
      // Synchronous from here to the insert: no other login can interleave with the check.
      const others = this.liveSessionsOf(record.userId).filter(({ id }) => id !== record.id);
      if (others.length >= limit && options.limitPolicy === 'refuse') {
        throw new SessionLimitExceededError(limit);
      }
      for (const oldest of others.slice(0, Math.max(0, others.length - limit + 1))) {
        this.remove(oldest);
      }
    }
    const previous = this.sessions.get(record.id);
    if (previous !== undefined) {
      this.remove(previous);
    }
    this.insert(storedCopyOf(record));
  }

  async update(id: string, delta: SessionDelta, touch: SessionTouch): Promise<void> {
    const record = this.liveRecord(id);
    if (record === undefined) {
      return;
    }
    // The stored record is the store's own copy: it may change in place.
    const data = { ...record.data, ...delta.set };
    for (const key of delta.deleted) {
      delete data[key];
    }
    record.data = data;
    record.lastSeenAt = touch.lastSeenAt;
    record.expiresAt = touch.expiresAt;
  }

  async touch(id: string, touch: SessionTouch): Promise<void> {
    const record = this.liveRecord(id);
    if (record !== undefined) {
      record.lastSeenAt = touch.lastSeenAt;
      record.expiresAt = touch.expiresAt;
    }
  }

  async destroy(id: string): Promise<void> {
    const record = this.sessions.get(id);
    if (record !== undefined) {
      this.remove(record);
    }
  }

  async listByUser(userId: string): Promise<SessionRecord[]> {
    return this.liveSessionsOf(userId).map(copyOf);
  }

  async destroyByUser(userId: string, exceptId?: string): Promise<number> {
    let destroyed = 0;
    for (const id of [...(this.idsByUser.get(userId) ?? [])]) {
      const record = this.sessions.get(id);
      if (record !== undefined && id !== exceptId) {
        this.remove(record);
        destroyed++;
      }
    }
    return destroyed;
  }

  close(): void {
    clearInterval(this.sweepTimer);
  }

  /**
   * Deletes expired sessions from the least recently used end, stopping at the first live one:
   * sessions behind it were used more recently. Expired sessions further in are caught on read.
   */
  sweepExpired(): void {
    const now = this.now();
    for (const record of this.sessions.values()) {
      if (record.expiresAt > now) {
        return;
      }
      this.remove(record);
    }
  }

  /** The user's sessions, oldest first; expired ones are removed on the way. */
  private liveSessionsOf(userId: string): StoredSession[] {
    const now = this.now();
    const live: StoredSession[] = [];
    for (const id of this.idsByUser.get(userId) ?? []) {
      const record = this.sessions.get(id);
      if (record !== undefined && record.expiresAt <= now) {
        this.remove(record);
      } else if (record !== undefined) {
        live.push(record);
      }
    }
    return live.sort((a, b) => a.createdAt - b.createdAt);
  }

  /** The stored record if it is still live; an expired one is removed. */
  private liveRecord(id: string): StoredSession | undefined {
    const record = this.sessions.get(id);
    if (record !== undefined && record.expiresAt <= this.now()) {
      this.remove(record);
      return undefined;
    }
    return record;
  }

  private insert(record: StoredSession): void {
    if (this.sessions.size >= this.maxSessions) {
      const leastRecentlyUsed = this.sessions.values().next().value;
      if (leastRecentlyUsed !== undefined) {
        this.remove(leastRecentlyUsed);
      }
    }
    record.position = ++this.insertions;
    this.sessions.set(record.id, record);
    if (record.userId !== null) {
      let ids = this.idsByUser.get(record.userId);
      if (ids === undefined) {
        ids = new Set();
        this.idsByUser.set(record.userId, ids);
      }
      ids.add(record.id);
    }
  }

  private remove(record: StoredSession): void {
    this.sessions.delete(record.id);
    if (record.userId !== null) {
      const ids = this.idsByUser.get(record.userId);
      ids?.delete(record.id);
      if (ids?.size === 0) {
        this.idsByUser.delete(record.userId);
      }
    }
  }
}

/** A record as the store keeps it: its own copy, with its place in the recency order. */
interface StoredSession extends SessionRecord {
  position: number;
}

/** The store's own copy, built as one literal so that V8 keeps its fields in the object. */
function storedCopyOf(record: SessionRecord): StoredSession {
  return {
    id: record.id,
    userId: record.userId,
    data: { ...record.data },
    createdAt: record.createdAt,
    lastSeenAt: record.lastSeenAt,
    authenticatedAt: record.authenticatedAt,
    expiresAt: record.expiresAt,
    absoluteExpiresAt: record.absoluteExpiresAt,
    userAgent: record.userAgent,
    position: 0,
  };
}

function copyOf(record: SessionRecord): SessionRecord {
  return {
    id: record.id,
    userId: record.userId,
    data: { ...record.data },
    createdAt: record.createdAt,
    lastSeenAt: record.lastSeenAt,
    authenticatedAt: record.authenticatedAt,
    expiresAt: record.expiresAt,
    absoluteExpiresAt: record.absoluteExpiresAt,
    userAgent: record.userAgent,
  };
}
