import type { SessionRecord } from '../../interfaces/session-store.interface.js';
import { decodeValue } from '../session-data.codec.js';

const RECORD_NUMBER_FIELDS = ['createdAt', 'lastSeenAt', 'expiresAt', 'absoluteExpiresAt'] as const;

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
  return {
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
}
