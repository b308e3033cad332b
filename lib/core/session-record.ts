import type { SessionRecord, SessionTouch } from '../interfaces/session-store.interface.js';
import type { ResolvedSessionOptions } from '../options/resolve-session-options.js';

const MAX_USER_AGENT_LENGTH = 256;

type Timeouts = Pick<ResolvedSessionOptions, 'idleTimeoutMs' | 'absoluteTimeoutMs'>;

/** A fresh, anonymous, empty record created at `now` (its `id` is set by the caller). */
export function newRecord(now: number, timeouts: Timeouts, userAgent?: string): SessionRecord {
  return {
    id: '',
    userId: null,
    data: {},
    createdAt: now,
    lastSeenAt: now,
    authenticatedAt: null,
    expiresAt: now + Math.min(timeouts.idleTimeoutMs, timeouts.absoluteTimeoutMs),
    absoluteExpiresAt: now + timeouts.absoluteTimeoutMs,
    userAgent: userAgent === undefined ? null : userAgent.slice(0, MAX_USER_AGENT_LENGTH),
  };
}

/** Whether the idle or the absolute timeout of the record has passed. */
export function isExpired(record: SessionRecord, now: number): boolean {
  return record.expiresAt <= now || record.absoluteExpiresAt <= now;
}

/** The activity fields of a record seen at `now`: idle expiry slides, never past the absolute one. */
export function touchAt(now: number, record: SessionRecord, idleTimeoutMs: number): SessionTouch {
  return {
    lastSeenAt: now,
    expiresAt: Math.min(now + idleTimeoutMs, record.absoluteExpiresAt),
  };
}
