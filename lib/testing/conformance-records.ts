import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { SessionRecord, SessionStore } from '../interfaces/session-store.interface.js';

/**
 * Records and helpers shared by the conformance tests.
 *
 * @internal
 */

export const LONG_TTL_MS = 60_000;
export const ABSOLUTE_MS = 3_600_000;

/** A test body given the store under test. */
export type StoreTest = (name: string, body: (store: SessionStore) => Promise<void>) => void;

export interface RecordSpec extends Partial<SessionRecord> {
  /** TTL of the new record, ms. Default 60 s. */
  expiresIn?: number;
}

export function newId(): string {
  return `conformance-${randomUUID()}`;
}

export function newUserId(): string {
  return `user-${randomUUID()}`;
}

export function newRecord(spec: RecordSpec = {}): SessionRecord {
  const { expiresIn = LONG_TTL_MS, ...fields } = spec;
  const now = Date.now();
  const createdAt = fields.createdAt ?? now;
  return {
    id: newId(),
    userId: null,
    data: {},
    lastSeenAt: now,
    authenticatedAt: null,
    expiresAt: now + expiresIn,
    absoluteExpiresAt: createdAt + ABSOLUTE_MS,
    userAgent: 'conformance-test',
    ...fields,
    createdAt,
  };
}

/** What the store is told: always `expiresAt - now`. */
export function ttlOf(record: SessionRecord): number {
  return record.expiresAt - Date.now();
}

/** A record with a plain-object copy of its data, for deep comparison whatever the store's objects. */
export function plain(record: SessionRecord | null): SessionRecord | null {
  if (record === null) {
    return null;
  }
  // A binding that is not set may be absent or `null`: both say "none".
  const { deviceBinding, ...fields } = record;
  return deviceBinding == null
    ? { ...fields, data: { ...record.data } }
    : { ...fields, deviceBinding, data: { ...record.data } };
}

export function must(record: SessionRecord | null): SessionRecord {
  assert.notEqual(record, null, 'the session should exist');
  return record as SessionRecord;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
