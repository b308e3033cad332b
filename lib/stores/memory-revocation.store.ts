import { Logger } from '@nestjs/common';
import { CLOCK_SKEW_MS } from '../core/clock-skew.js';
import type {
  RevocationStore,
  RevocationSubject,
} from '../interfaces/revocation-store.interface.js';

/** Options of `MemoryRevocationStore`. */
export interface MemoryRevocationStoreOptions {
  /**
   * Most revocations held at once (sessions and users together). Default 100 000. Size it above
   * the logouts and revocations you expect within one `absoluteTimeout`: beyond it the store
   * fails closed (see the class notes).
   */
  maxRevocations?: number;
  /** Clock, for tests. Default `Date.now`. */
  now?: () => number;
}

interface SessionRevocation {
  until: number;
  /** When it was recorded (store clock, never decreasing): bounds the session's `createdAt`. */
  at: number;
}

interface UserRevocation {
  notBefore: number;
  until: number;
}

/**
 * The default revocation store of stateless mode: in this process only, bounded, and never
 * forgetting an unexpired revocation. Use `RedisStore` as `revocationStore` when the app runs
 * more than one instance: a logout recorded here is not seen by the others.
 *
 * **Fail closed when full.** Expired entries are dropped first (oldest first). If the list is
 * still full, the store raises a watermark: every stateless session created before it is
 * refused, and the entries it covers are dropped. A revoked session was opened no later than its
 * revocation, so its `createdAt` is at most the revocation time plus `CLOCK_SKEW_MS` (older cookies
 * are refused as forged): entries older than that are covered by a watermark of now. Only when
 * the entries of the last few seconds alone fill the list is the watermark moved past them,
 * ending also the sessions created in the next `CLOCK_SKEW_MS`. Each raise is logged (no ids).
 * So the list never holds more than `maxRevocations` entries, and no revocation is ever undone:
 * a flood of logouts can at worst log everyone out, never let a revoked cookie back in.
 *
 * Anonymous sessions are never recorded (the library skips them), so only logged-in users can
 * fill the list.
 */
export class MemoryRevocationStore implements RevocationStore {
  /** In recording order, so the oldest come first. */
  private readonly sessions = new Map<string, SessionRevocation>();
  private readonly users = new Map<string, UserRevocation>();
  /** Sessions created before this are refused, whatever the lists say. */
  private watermark = Number.NEGATIVE_INFINITY;
  private lastAt = Number.NEGATIVE_INFINITY;
  private readonly maxRevocations: number;
  private readonly clock: () => number;
  private readonly logger = new Logger('MemoryRevocationStore');

  constructor(options: MemoryRevocationStoreOptions = {}) {
    const max = options.maxRevocations ?? 100_000;
    if (!Number.isInteger(max) || max < 1) {
      throw new TypeError(`maxRevocations must be a positive integer (got ${max})`);
    }
    this.maxRevocations = max;
    this.clock = options.now ?? Date.now;
  }

  /** Revocations held (sessions and users), expired ones not yet dropped included. */
  get size(): number {
    return this.sessions.size + this.users.size;
  }

  /** Sessions created before this time are refused because the list ran full (`-Infinity`: never). */
  get notBefore(): number {
    return this.watermark;
  }

  async revoke(id: string, until: number, now = this.clock()): Promise<void> {
    const existing = this.sessions.get(id);
    if (until <= now || (existing !== undefined && existing.until >= until)) {
      return;
    }
    const at = (this.lastAt = Math.max(this.lastAt, now));
    this.sessions.delete(id);
    this.makeRoom(now);
    // Re-inserted at the young end: the map stays in recording order.
    this.sessions.set(id, { until, at });
  }

  async revokeUser(
    userId: string,
    notBefore: number,
    until: number,
    now = this.clock(),
  ): Promise<void> {
    const existing = this.users.get(userId);
    if (until <= now || notBefore <= this.watermark) {
      return;
    }
    if (existing !== undefined) {
      existing.notBefore = Math.max(existing.notBefore, notBefore);
      existing.until = Math.max(existing.until, until);
      return;
    }
    this.makeRoom(now);
    this.users.set(userId, { notBefore, until });
  }

  async isRevoked(session: RevocationSubject, now = this.clock()): Promise<boolean> {
    if (session.createdAt < this.watermark) {
      return true;
    }
    const revoked = this.sessions.get(session.id);
    if (revoked !== undefined) {
      if (revoked.until > now) {
        return true;
      }
      this.sessions.delete(session.id);
    }
    const user = session.userId === null ? undefined : this.users.get(session.userId);
    return user !== undefined && user.until > now && session.createdAt < user.notBefore;
  }

  /** Nothing to release: the store has no timer. */
  close(): void {}

  /** Frees at least one place, failing closed when no entry may be forgotten. */
  private makeRoom(now: number): void {
    if (this.size < this.maxRevocations) {
      return;
    }
    this.dropExpired(now);
    if (this.size < this.maxRevocations) {
      return;
    }
    // Every session revoked before now - skew was created before now: a watermark of now covers it.
    if (this.raiseWatermark(now) && this.size < this.maxRevocations) {
      this.logger.warn(
        `Revocation list full (${this.maxRevocations} unexpired entries): every stateless session created before ${new Date(this.watermark).toISOString()} is now refused (fail closed). Raise maxRevocations above the logouts of one absoluteTimeout, or use a RedisStore as revocationStore.`,
      );
    }
    if (this.size < this.maxRevocations) {
      return;
    }
    // The last few seconds alone fill the list: move past every session they could concern.
    this.raiseWatermark(Math.max(now, this.lastAt) + CLOCK_SKEW_MS + 1);
    this.logger.error(
      `Revocation list full with ${this.maxRevocations} entries recorded within ${CLOCK_SKEW_MS} ms: every stateless session created before ${new Date(this.watermark).toISOString()} is now refused, including those created in the next ${CLOCK_SKEW_MS} ms (fail closed). Raise maxRevocations or use a RedisStore as revocationStore.`,
    );
  }

  /** Drops expired entries: sessions from the oldest end (they mostly expire in order), users all. */
  private dropExpired(now: number): void {
    for (const [id, revocation] of this.sessions) {
      if (revocation.until > now) {
        break;
      }
      this.sessions.delete(id);
    }
    for (const [userId, revocation] of this.users) {
      if (revocation.until <= now) {
        this.users.delete(userId);
      }
    }
  }

  /**
   * Refuses every session created before `watermark` and drops the entries that covers;
   * whether the watermark moved.
   */
  private raiseWatermark(watermark: number): boolean {
    const raised = watermark > this.watermark;
    this.watermark = Math.max(this.watermark, watermark);
    for (const [id, revocation] of this.sessions) {
      // The revoked session was created at most `CLOCK_SKEW_MS` after the revocation.
      if (revocation.at + CLOCK_SKEW_MS >= this.watermark) {
        break;
      }
      this.sessions.delete(id);
    }
    for (const [userId, revocation] of this.users) {
      if (revocation.notBefore <= this.watermark) {
        this.users.delete(userId);
      }
    }
    return raised;
  }
}
