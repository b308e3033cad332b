import type { SessionRecord } from '../../interfaces/session-store.interface.js';
import type { ResolvedSessionOptions } from '../../options/resolve-session-options.js';
import { CLOCK_SKEW_MS } from '../clock-skew.js';
import { asClientFingerprint } from '../client-fingerprint.js';
import { decodeValue } from '../session-data.codec.js';

const RECORD_NUMBER_FIELDS = ['createdAt', 'lastSeenAt', 'expiresAt', 'absoluteExpiresAt'] as const;

type Timeouts = Pick<ResolvedSessionOptions, 'idleTimeoutMs' | 'absoluteTimeoutMs'>;

/** A session record from an opened sealed cookie, or `null` when its shape is wrong. */
export function parseSealedRecord(json: string): SessionRecord | null {
  const parsed = decodeValue(json) as Partial<SessionRecord> | undefined;
  if (
    typeof parsed !== 'object' ||
    parsed === null ||
    typeof parsed.id !== 'string' ||
    (parsed.userId !== null && typeof parsed.userId !== 'string') ||
    typeof parsed.data !== 'object' ||
    parsed.data === null ||
    !Object.values(parsed.data).every((value) => typeof value === 'string') ||
    !RECORD_NUMBER_FIELDS.every((field) => Number.isFinite(parsed[field])) ||
    (parsed.authenticatedAt !== undefined &&
      parsed.authenticatedAt !== null &&
      !Number.isFinite(parsed.authenticatedAt))
  ) {
    return null;
  }
  const record: SessionRecord = {
    id: parsed.id,
    userId: parsed.userId ?? null,
    data: { ...parsed.data },
    createdAt: parsed.createdAt as number,
    lastSeenAt: parsed.lastSeenAt as number,
    authenticatedAt: typeof parsed.authenticatedAt === 'number' ? parsed.authenticatedAt : null,
    expiresAt: parsed.expiresAt as number,
    absoluteExpiresAt: parsed.absoluteExpiresAt as number,
    userAgent: typeof parsed.userAgent === 'string' ? parsed.userAgent : null,
  };
  const client = asClientFingerprint(parsed.client);
  if (client !== null) {
    record.client = client;
  }
  return record;
}

/**
 * Whether a sealed record's times are ones this configuration could have issued by `now`: not
 * created or seen in the future (beyond `CLOCK_SKEW_MS` for another instance's clock), no
 * absolute lifetime longer than `absoluteTimeout` and no idle expiry further than `idleTimeout`
 * after the last activity. A cookie sealed under a key that has leaked (and been rotated out of
 * first place) can thus not carry a lifetime the configuration never granted, and is never
 * re-sealed under the new key. Shortening a timeout ends the cookies issued under the longer one.
 */
export function fitsConfiguration(record: SessionRecord, now: number, timeouts: Timeouts): boolean {
  const { createdAt, lastSeenAt, expiresAt, absoluteExpiresAt, authenticatedAt } = record;
  const latest = now + CLOCK_SKEW_MS;
  return (
    createdAt <= latest &&
    lastSeenAt >= createdAt &&
    lastSeenAt <= latest &&
    absoluteExpiresAt <= createdAt + timeouts.absoluteTimeoutMs &&
    expiresAt <= lastSeenAt + timeouts.idleTimeoutMs &&
    expiresAt <= absoluteExpiresAt &&
    (authenticatedAt === null || (authenticatedAt >= createdAt && authenticatedAt <= lastSeenAt))
  );
}
