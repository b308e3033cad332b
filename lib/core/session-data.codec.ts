/** Keys that would reach an object's prototype if ever merged into a plain object. */
const PROTOTYPE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
/** A prototype key, or any `\u` escape (which could spell one); `JSON.stringify` rarely writes either. */
const PROTOTYPE_KEY_IN_JSON = /"(?:__proto__|constructor|prototype)"\s*:|\\u/;
const MAX_KEY_LENGTH = 128;

/** Throws a `TypeError` for a key that must not name session data. */
export function assertDataKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY_LENGTH) {
    throw new TypeError(`Session data keys must be strings of 1 to ${MAX_KEY_LENGTH} characters`);
  }
  if (PROTOTYPE_KEYS.has(key)) {
    throw new TypeError(`'${key}' is reserved and cannot be a session data key`);
  }
}

/** JSON text of a value; a `TypeError` for values JSON cannot carry (functions, symbols, BigInt). */
export function encodeValue(key: string, value: unknown): string {
  let encoded: string | undefined;
  try {
    encoded = JSON.stringify(value);
  } catch (error) {
    throw new TypeError(`Session value '${key}' is not JSON-serializable`, { cause: error });
  }
  if (encoded === undefined) {
    throw new TypeError(`Session value '${key}' is not JSON-serializable`);
  }
  return encoded;
}

function withoutPrototypeKeys(key: string, value: unknown): unknown {
  return PROTOTYPE_KEYS.has(key) ? undefined : value;
}

/**
 * Parses a stored value. Keys that could pollute a prototype when the value is later merged
 * (`__proto__`, `constructor`, `prototype`) are dropped; the reviver runs only when such a key
 * is present, so ordinary values parse at full speed. Unparseable text reads as `undefined`.
 */
export function decodeValue(encoded: string): unknown {
  try {
    return JSON.parse(
      encoded,
      PROTOTYPE_KEY_IN_JSON.test(encoded) ? withoutPrototypeKeys : undefined,
    );
  } catch {
    return undefined;
  }
}

/** Removes prototype keys a tampered store may have put among a session's data keys. */
export function dropPrototypeKeys(data: Record<string, string>): void {
  for (const key of PROTOTYPE_KEYS) {
    if (Object.hasOwn(data, key)) {
      delete data[key];
    }
  }
}

/** Bytes of a session's encoded data, the measure `maxDataSize` limits. */
export function encodedSize(data: Record<string, string>): number {
  let size = 0;
  for (const key in data) {
    size += Buffer.byteLength(key) + Buffer.byteLength(data[key]);
  }
  return size;
}
