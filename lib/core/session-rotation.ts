import { openSuccessor, sealSuccessor } from '../crypto/successor-token.js';
import { sessionIdOf } from '../crypto/session-token.js';
import type { SessionEvents } from '../events/session-events.js';
import type {
  SessionRecord,
  SessionRotation,
  SessionStore,
} from '../interfaces/session-store.interface.js';
import type { ResolvedSessionOptions } from '../options/resolve-session-options.js';
import type { SessionContents } from './session-contents.js';
import { decodeValue } from './session-data.codec.js';
import { isExpired } from './session-record.js';
import { failClosed, SessionTheftDetectedError } from './session.errors.js';

/** The session a rotated-out token leads to in its grace window, under its new token. */
export interface RotationSuccessor {
  readonly record: SessionRecord;
  readonly token: string;
}

/**
 * Token rotation (`rotateEvery`), the RFC 9700 refresh-token reuse rule applied to session
 * tokens: a signed-in session's token is replaced once it is `everyMs` old; the old token
 * leads to the new session for `graceMs` (requests in flight, other tabs), and presented after
 * that it revokes the whole session, since only a copy of it can still be in use. The store
 * makes the move and the tombstone one atomic step (`SessionWriteOptions.rotation`).
 */
export class TokenRotation {
  private readonly everyMs: number;
  private readonly graceMs: number;

  constructor(
    private readonly store: SessionStore,
    private readonly options: ResolvedSessionOptions,
    private readonly events: SessionEvents,
  ) {
    this.everyMs = options.rotation?.everyMs ?? Infinity;
    this.graceMs = options.rotation?.graceMs ?? 0;
  }

  /** Whether a signed-in session's token is old enough to be replaced. Anonymous ones never are. */
  isDue(record: SessionRecord, now: number): boolean {
    return record.userId !== null && now - (record.rotatedAt ?? record.createdAt) >= this.everyMs;
  }

  /** What the store keeps for the replaced id: the grace end and the sealed new token. */
  tombstoneFor(
    replacedId: string,
    replacedToken: string,
    token: string,
    now: number,
  ): SessionRotation {
    return {
      graceEndsAt: now + this.graceMs,
      successor: sealSuccessor(this.options.keys.data, replacedId, replacedToken, token),
    };
  }

  /** A request's part in rotation: the rotation its commit makes, or follows. */
  step(): RotationStep {
    return new RotationStep(this);
  }

  /** Reports a saved rotation. */
  rotated(from: SessionRecord, to: SessionRecord): void {
    this.events.emit({
      type: 'regenerated',
      sessionId: to.id,
      previousSessionId: from.id,
      userId: to.userId,
      cause: 'rotation',
    });
  }

  /**
   * The session that `token` (whose id `id` is no longer live) was rotated to, while its grace
   * window lasts; `null` when it was not rotated, its successor has ended, or (for a request
   * that presented it in time, `inFlight`) the window has passed. Presented after the window,
   * the token is a stolen copy: the session and every later successor are ended, the
   * `revoked` event (reason `'theft-detected'`) is emitted, and this rejects with
   * `SessionTheftDetectedError`.
   */
  async successorOf(
    id: string,
    token: string,
    now: number,
    inFlight: boolean,
  ): Promise<RotationSuccessor | null> {
    const getTombstone = this.store.getTombstone?.bind(this.store);
    const tombstone = getTombstone === undefined ? null : await failClosed(getTombstone(id));
    if (tombstone === null) {
      return null;
    }
    if (now >= tombstone.graceEndsAt) {
      if (inFlight) {
        return null;
      }
      await this.revoke(id, tombstone.userId);
    }
    const successorToken = openSuccessor(this.options.keys.data, id, token, tombstone.successor);
    // A successor that does not open, or names another session, was not written by this
    // library: deny.
    if (successorToken === null || sessionIdOf(successorToken) !== tombstone.successorId) {
      return null;
    }
    const record = await failClosed(this.store.get(tombstone.successorId));
    if (record === null || isExpired(record, now)) {
      return null;
    }
    return { record, token: successorToken };
  }

  private async revoke(id: string, userId: string | null): Promise<never> {
    const ended =
      this.store.destroyRotated === undefined
        ? []
        : await failClosed(this.store.destroyRotated(id));
    this.events.emit({
      type: 'revoked',
      reason: 'theft-detected',
      userId,
      sessionIds: ended,
      count: ended.length,
    });
    throw new SessionTheftDetectedError();
  }
}

/**
 * One request's part in token rotation: the rotation its commit makes (the session as it was,
 * and the tombstone the store is to leave), and the one-time follow of a concurrent rotation.
 */
export class RotationStep {
  private pending: {
    readonly from: SessionContents;
    readonly fromToken: string;
    readonly tombstone: SessionRotation;
  } | null = null;
  private followed = false;

  constructor(private readonly rotation: TokenRotation) {}

  /** What the pending rotation's save must leave for the replaced id; none without one. */
  get tombstone(): SessionRotation | undefined {
    return this.pending?.tombstone;
  }

  isDue(record: SessionRecord, now: number): boolean {
    return this.rotation.isDue(record, now);
  }

  /** The commit moved the session `from` (opened with `fromToken`) to `token`. */
  begin(from: SessionContents, fromToken: string, token: string, now: number): void {
    const tombstone = this.rotation.tombstoneFor(from.record.id, fromToken, token, now);
    this.pending = { from, fromToken, tombstone };
  }

  /** The save went through: a pending rotation is reported. */
  saved(to: SessionRecord): void {
    if (this.pending !== null) {
      this.rotation.rotated(this.pending.from.record, to);
      this.pending = null;
    }
  }

  /**
   * The successor of the session this request held (`presented`, under `token`, or the one its
   * own rotation moved away from), once per request and only while the grace window lasts.
   */
  async follow(
    presented: SessionContents | null,
    token: string | null,
    now: number,
  ): Promise<(RotationSuccessor & { from: SessionContents }) | null> {
    const from = this.pending?.from ?? presented;
    const fromToken = this.pending?.fromToken ?? token;
    if (this.followed || from === null || fromToken === null) {
      return null;
    }
    this.followed = true;
    this.pending = null;
    const successor = await this.rotation.successorOf(from.record.id, fromToken, now, true);
    return successor === null ? null : { ...successor, from };
  }

  clear(): void {
    this.pending = null;
  }
}

/**
 * Puts what this request changed in `from` into `to` (the same session after a concurrent
 * rotation moved it to a new token): each value opened from its old sealing and sealed again
 * for `to`, deletions repeated. Throws `SessionDataTooLargeError` past `maxDataSize`.
 */
export function carryChanges(from: SessionContents, to: SessionContents): void {
  const written = [...from.changes].filter(([, stored]) => stored !== null).map(([key]) => key);
  const plain = from.plainData(written);
  for (const [key, stored] of from.changes) {
    if (stored === null) {
      to.delete(key);
    } else {
      const text = plain.get(key);
      if (text !== undefined) {
        to.set(key, decodeValue(text));
      }
    }
  }
}
