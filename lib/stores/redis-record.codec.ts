import { asClientFingerprint } from '../core/client-fingerprint.js';
import type {
  ClientFingerprint,
  SessionRecord,
  SessionTombstone,
} from '../interfaces/session-store.interface.js';
import { DATA_FIELD_PREFIX, FIELD } from './redis-scripts.js';

/** A TTL in whole milliseconds; rejects one that is not finite. */
export function finiteTtl(ttlMs: number): number {
  if (!Number.isFinite(ttlMs)) {
    throw new TypeError(`ttlMs must be a finite number (got ${ttlMs})`);
  }
  return Math.floor(ttlMs);
}

/** A data value as stored: stores keep encoded data, so only a string is accepted. */
export function assertValue(key: string, value: unknown): string {
  if (typeof value !== 'string') {
    throw new TypeError(
      `Session data value of '${key}' must be a string (stores keep encoded data)`,
    );
  }
  return value;
}

/** The hash fields of a record, flattened as `field, value, …`, with `dataSize` last. */
export function encodeRecord(record: SessionRecord): string[] {
  const fields: string[] = [
    FIELD.createdAt,
    String(record.createdAt),
    FIELD.lastSeenAt,
    String(record.lastSeenAt),
    FIELD.expiresAt,
    String(record.expiresAt),
    FIELD.absoluteExpiresAt,
    String(record.absoluteExpiresAt),
  ];
  if (record.userId !== null) {
    fields.push(FIELD.userId, record.userId);
  }
  if (record.authenticatedAt !== null) {
    fields.push(FIELD.authenticatedAt, String(record.authenticatedAt));
  }
  if (record.userAgent !== null) {
    fields.push(FIELD.userAgent, record.userAgent);
  }
  if (record.client != null) {
    fields.push(FIELD.client, encodeClient(record.client));
  }
  if (record.rotatedAt !== undefined) {
    fields.push(FIELD.rotatedAt, String(record.rotatedAt));
  }
  if (record.originId !== undefined) {
    fields.push(FIELD.originId, record.originId);
  }
  if (record.deviceBinding != null) {
    fields.push(FIELD.deviceBinding, record.deviceBinding);
  }
  let dataSize = 0;
  for (const [key, value] of Object.entries(record.data)) {
    fields.push(DATA_FIELD_PREFIX + key, assertValue(key, value));
    dataSize += Buffer.byteLength(key) + Buffer.byteLength(value);
  }
  fields.push(FIELD.dataSize, String(dataSize));
  return fields;
}

/**
 * A record from a session hash, or `null` when there is none or it lacks a required field.
 * Only known fields are read, and data keys are defined as own properties, so a field named
 * `d:__proto__` yields a data key `__proto__` instead of touching a prototype.
 */
export function decodeRecord(id: string, hash: Record<string, string>): SessionRecord | null {
  const data: Record<string, string> = {};
  for (const field of Object.keys(hash)) {
    if (field.startsWith(DATA_FIELD_PREFIX)) {
      Object.defineProperty(data, field.slice(DATA_FIELD_PREFIX.length), {
        value: hash[field],
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
  }
  const createdAt = timeField(hash, FIELD.createdAt);
  const lastSeenAt = timeField(hash, FIELD.lastSeenAt);
  const expiresAt = timeField(hash, FIELD.expiresAt);
  const absoluteExpiresAt = timeField(hash, FIELD.absoluteExpiresAt);
  if (
    createdAt === null ||
    lastSeenAt === null ||
    expiresAt === null ||
    absoluteExpiresAt === null
  ) {
    return null;
  }
  const deviceBinding = stringField(hash, FIELD.deviceBinding);
  const record: SessionRecord = {
    ...(deviceBinding === null ? {} : { deviceBinding }),
    id,
    userId: stringField(hash, FIELD.userId),
    data,
    createdAt,
    lastSeenAt,
    authenticatedAt: timeField(hash, FIELD.authenticatedAt),
    expiresAt,
    absoluteExpiresAt,
    userAgent: stringField(hash, FIELD.userAgent),
  };
  const client = decodeClient(stringField(hash, FIELD.client));
  if (client !== null) {
    record.client = client;
  }
  const rotatedAt = timeField(hash, FIELD.rotatedAt);
  if (rotatedAt !== null) {
    record.rotatedAt = rotatedAt;
  }
  const originId = stringField(hash, FIELD.originId);
  if (originId !== null) {
    record.originId = originId;
  }
  return record;
}

/** The `client` field: the fingerprint's three fields as JSON, in a fixed order. */
export function encodeClient(client: ClientFingerprint): string {
  return JSON.stringify({ agent: client.agent, network: client.network, stepUp: client.stepUp });
}

/** A fingerprint from its field, or `null` when absent or malformed (then nothing is compared). */
export function decodeClient(text: string | null): ClientFingerprint | null {
  if (text === null) {
    return null;
  }
  try {
    return asClientFingerprint(JSON.parse(text));
  } catch {
    return null;
  }
}

/** A rotation's tombstone from a hash, or `null` when the hash is anything else. */
export function decodeTombstone(hash: Record<string, string>): SessionTombstone | null {
  const successorId = stringField(hash, FIELD.movedTo);
  const successor = stringField(hash, FIELD.successor);
  const graceEndsAt = timeField(hash, FIELD.graceEndsAt);
  if (successorId === null || successor === null || graceEndsAt === null) {
    return null;
  }
  return { successorId, graceEndsAt, successor, userId: stringField(hash, FIELD.owner) };
}

function stringField(hash: Record<string, string>, field: string): string | null {
  return Object.hasOwn(hash, field) ? hash[field] : null;
}

function timeField(hash: Record<string, string>, field: string): number | null {
  const text = stringField(hash, field);
  const value = text === null || text === '' ? NaN : Number(text);
  return Number.isFinite(value) ? value : null;
}
