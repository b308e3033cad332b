import type { SessionTombstone } from '../interfaces/session-store.interface.js';

/** Most tombstones `endChain` follows: a chain is one per rotation, never a cycle. */
const MAX_FOLLOWED_ROTATIONS = 1_000;

/** A tombstone as `MemoryStore` keeps it: with the time it may be forgotten. */
interface StoredTombstone extends SessionTombstone {
  readonly keepUntil: number;
}

/**
 * The tombstones token rotation leaves in `MemoryStore`, one per rotated-out id, each kept
 * until the absolute expiry of its session (when its token could no longer open anything
 * anyway), and bounded: beyond `capacity` the oldest is forgotten. A forgotten tombstone fails
 * closed: its token then opens no session at all, in the grace window or after it; only the
 * theft report for a replay of that old token is lost. A signed-in session rotates at most once
 * per `rotateEvery`, so N sessions leave at most N × absoluteTimeout / rotateEvery tombstones;
 * each costs a few hundred bytes (two ids, the sealed successor token, the user id, two numbers).
 *
 * @internal
 */
export class MemoryTombstones {
  /** In insertion (rotation) order: the first is the oldest. */
  private readonly byId = new Map<string, StoredTombstone>();

  constructor(
    readonly capacity: number,
    private readonly now: () => number,
  ) {}

  get size(): number {
    return this.byId.size;
  }

  add(id: string, tombstone: SessionTombstone, keepUntil: number): void {
    this.byId.delete(id);
    if (this.byId.size >= this.capacity) {
      const oldest = this.byId.keys().next().value;
      if (oldest !== undefined) {
        this.byId.delete(oldest);
      }
    }
    this.byId.set(id, { ...tombstone, keepUntil });
  }

  /** A copy of the tombstone of `id`, if it is still kept. */
  get(id: string): SessionTombstone | null {
    const stored = this.byId.get(id);
    if (stored === undefined) {
      return null;
    }
    if (stored.keepUntil <= this.now()) {
      this.byId.delete(id);
      return null;
    }
    const { successorId, graceEndsAt, successor, userId } = stored;
    return { successorId, graceEndsAt, successor, userId };
  }

  delete(id: string): void {
    this.byId.delete(id);
  }

  /**
   * `destroyRotated`: from `id`, removes each tombstone and follows it until `endLive` ends a
   * live session (returning its id) or the chain ends. Synchronous: nothing interleaves.
   */
  endChain(id: string, endLive: (id: string) => string | null): string[] {
    let next: string | null = id;
    for (let hops = 0; next !== null && hops <= MAX_FOLLOWED_ROTATIONS; hops++) {
      const ended = endLive(next);
      if (ended !== null) {
        return [ended];
      }
      const tombstone = this.get(next);
      this.byId.delete(next);
      next = tombstone?.successorId ?? null;
    }
    return [];
  }

  /** Forgets expired tombstones from the oldest, stopping at the first one still kept. */
  sweep(): void {
    const now = this.now();
    for (const [id, stored] of this.byId) {
      if (stored.keepUntil > now) {
        break;
      }
      this.byId.delete(id);
    }
  }
}
