import type { SessionData } from '../interfaces/session-data.interface.js';
import type { SessionRecord } from '../interfaces/session-store.interface.js';
import { assertDataKey, decodeValue, encodedSize, encodeValue } from './session-data.codec.js';
import type { SessionValues } from './session-values.js';
import { SessionDataTooLargeError } from './session.errors.js';

/**
 * The record of one loaded session and what this request changed in it. Data is kept in its
 * stored form (JSON, or sealed at rest) and decoded on first read.
 */
export class SessionContents {
  /** Data keys changed since load: new stored value, or `null` when deleted. */
  readonly changes = new Map<string, string | null>();
  private readonly decoded = new Map<string, unknown>();
  private size: number | null = null;

  constructor(
    readonly record: SessionRecord,
    private readonly values: SessionValues,
    private readonly maxDataSize: number,
  ) {}

  get(key: string): unknown {
    const data = this.record.data;
    if (!Object.hasOwn(data, key)) {
      return undefined;
    }
    if (!this.decoded.has(key)) {
      const plain = this.values.plain(this.record.id, key, data[key]);
      this.decoded.set(key, plain === null ? undefined : decodeValue(plain));
    }
    return this.decoded.get(key);
  }

  /** Sets `key`; throws `SessionDataTooLargeError` (leaving the data as it was) past `maxDataSize`. */
  set(key: string, value: unknown): void {
    assertDataKey(key);
    if (value === undefined) {
      this.delete(key);
      return;
    }
    this.store(key, this.values.stored(this.record.id, key, encodeValue(key, value)));
  }

  delete(key: string): void {
    assertDataKey(key);
    const data = this.record.data;
    if (!Object.hasOwn(data, key)) {
      return;
    }
    this.size = this.dataSize() - Buffer.byteLength(key) - Buffer.byteLength(data[key]);
    delete data[key];
    this.changes.set(key, null);
    this.decoded.delete(key);
  }

  /** A read-only snapshot of the decoded data. */
  snapshot(): Readonly<Partial<SessionData>> {
    const snapshot: Record<string, unknown> = {};
    for (const key of Object.keys(this.record.data)) {
      snapshot[key] = this.get(key);
    }
    return Object.freeze(snapshot) as Readonly<Partial<SessionData>>;
  }

  /** The JSON text of each present key, opened from its stored form; unreadable values are dropped. */
  plainData(keys: readonly string[]): Map<string, string> {
    const plain = new Map<string, string>();
    for (const key of keys) {
      const stored = Object.hasOwn(this.record.data, key) ? this.record.data[key] : undefined;
      const text = stored === undefined ? null : this.values.plain(this.record.id, key, stored);
      if (text !== null) {
        plain.set(key, text);
      }
    }
    return plain;
  }

  /** Puts each plain JSON value in, sealed for this session (after a move to a new token). */
  adopt(plainData: ReadonlyMap<string, string>): void {
    for (const [key, plain] of plainData) {
      this.record.data[key] = this.values.stored(this.record.id, key, plain);
    }
  }

  /** After a key rotation: values sealed under an older key are sealed again under the primary. */
  resealStale(): void {
    for (const [key, stored] of Object.entries(this.record.data)) {
      if (this.values.isStale(stored)) {
        const plain = this.values.plain(this.record.id, key, stored);
        if (plain !== null) {
          // Same value, same size give or take a key id: not a change the size limit judges.
          this.record.data[key] = this.values.stored(this.record.id, key, plain);
          this.changes.set(key, this.record.data[key]);
          this.size = null;
        }
      }
    }
  }

  private store(key: string, stored: string): void {
    const data = this.record.data;
    const previous = Object.hasOwn(data, key) ? data[key] : undefined;
    const size =
      this.dataSize() -
      (previous === undefined ? 0 : Buffer.byteLength(key) + Buffer.byteLength(previous)) +
      Buffer.byteLength(key) +
      Buffer.byteLength(stored);
    if (size > this.maxDataSize) {
      throw new SessionDataTooLargeError(key, size, this.maxDataSize);
    }
    data[key] = stored;
    this.size = size;
    this.changes.set(key, stored);
    this.decoded.delete(key);
  }

  private dataSize(): number {
    this.size ??= encodedSize(this.record.data);
    return this.size;
  }
}
