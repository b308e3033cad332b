import type { SessionRecord } from '../interfaces/session-store.interface.js';

/**
 * How `MemoryStore` keeps its sessions: copies, each with its place in a recency order.
 *
 * @internal
 */

/** Sessions of one kind in (approximately) least-recently-used order, with their capacity. */
export class RecencyList {
  readonly sessions = new Map<string, StoredSession>();
  /** Insertions so far; a session's `position` is the value at its last (re)insertion. */
  insertions = 0;

  constructor(readonly capacity: number) {}
}

/** A record as the store keeps it: its own copy, with its place in the recency order. */
export interface StoredSession extends SessionRecord {
  deviceBinding: string | null;
  position: number;
}

/** The store's own copy, built as one literal so that V8 keeps its fields in the object. */
export function storedCopyOf(record: SessionRecord): StoredSession {
  const copy: StoredSession = {
    id: record.id,
    userId: record.userId,
    data: { ...record.data },
    createdAt: record.createdAt,
    lastSeenAt: record.lastSeenAt,
    authenticatedAt: record.authenticatedAt,
    expiresAt: record.expiresAt,
    absoluteExpiresAt: record.absoluteExpiresAt,
    userAgent: record.userAgent,
    deviceBinding: record.deviceBinding ?? null,
    position: 0,
  };
  copyRotation(record, copy);
  return withClient(copy, record);
}

/** The rotation fields, when the record has them (it has none until its first rotation). */
function copyRotation(record: SessionRecord, copy: SessionRecord): void {
  if (record.rotatedAt !== undefined) {
    copy.rotatedAt = record.rotatedAt;
  }
  if (record.originId !== undefined) {
    copy.originId = record.originId;
  }
}

/** A copy for a caller; `deviceBinding` only when one is set, as the contract returns it. */
export function copyOf(record: SessionRecord): SessionRecord {
  const copy: SessionRecord = {
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
  if (record.deviceBinding != null) {
    copy.deviceBinding = record.deviceBinding;
  }
  copyRotation(record, copy);
  return withClient(copy, record);
}

/** The copy with a copy of the record's client fingerprint, when it has one (none: no key). */
function withClient<T extends SessionRecord>(copy: T, record: SessionRecord): T {
  if (record.client != null) {
    copy.client = { ...record.client };
  }
  return copy;
}
