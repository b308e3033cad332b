import { hkdfSync } from 'node:crypto';
import type { DerivedKey, Keyring } from '../crypto/keyring.js';
import { open, seal, sealedKeyId } from '../crypto/sealed-box.js';

/** Most per-session data keys remembered, per master key; the memo is emptied when full. */
export const DATA_KEY_MEMO_SIZE = 10_000;
/** Most opened values remembered (all sessions together); the memo is emptied when full. */
export const OPENED_VALUE_MEMO_SIZE = 10_000;
/** Longest stored value whose opening is remembered: a bound on the memo's memory. */
export const OPENED_VALUE_MAX_LENGTH = 2_048;

const dataKeyMemos = new WeakMap<DerivedKey, Map<string, DerivedKey>>();

/** An opened value: what it opened from, the very data key object it authenticated under, and its plaintext. */
interface OpenedValue {
  readonly stored: string;
  readonly context: string;
  readonly dataKey: DerivedKey;
  readonly plain: string;
}
const openedValues = new Map<string, OpenedValue>();

/**
 * The data key of one session under one master key: HKDF-SHA-256 of the master key and the
 * session token. Remembered (bounded, per master key object), so that a session's later
 * requests skip the derivation; a new secret list makes new master key objects, which find
 * nothing remembered.
 */
function sessionDataKey(master: DerivedKey, token: string): DerivedKey {
  let memo = dataKeyMemos.get(master);
  const remembered = memo?.get(token);
  if (remembered !== undefined) {
    return remembered;
  }
  const derived = hkdfSync('sha256', master.key, token, 'session-data', 32);
  const key: DerivedKey = Object.freeze({ id: master.id, key: Buffer.from(derived) });
  if (memo === undefined) {
    memo = new Map();
    dataKeyMemos.set(master, memo);
  } else if (memo.size >= DATA_KEY_MEMO_SIZE) {
    memo.clear();
  }
  memo.set(token, key);
  return key;
}

/**
 * `open`, remembering what opened: a value read on request after request (the user id, roles)
 * is decrypted once. An entry answers only for the exact stored text, the same context (session
 * id and data key) and the very same data key object it authenticated under, so it says what
 * `open` would say; anything that did not authenticate is never remembered.
 */
function openRemembered(stored: string, dataKey: DerivedKey, context: string): string | null {
  const memoKey = `${context}\n${stored}`;
  const remembered = openedValues.get(memoKey);
  // The parts compared too: a data key may contain a newline, so the joined text alone could
  // match another pair (plain() refuses such stored text first; this does not rely on it).
  if (
    remembered !== undefined &&
    remembered.dataKey === dataKey &&
    remembered.stored === stored &&
    remembered.context === context
  ) {
    return remembered.plain;
  }
  const plain = open(stored, dataKey, context);
  if (plain !== null && stored.length <= OPENED_VALUE_MAX_LENGTH) {
    if (openedValues.size >= OPENED_VALUE_MEMO_SIZE) {
      openedValues.clear();
    }
    openedValues.set(memoKey, { stored, context, dataKey, plain });
  }
  return plain;
}

/**
 * How one session's data values are kept in the store: their JSON as is, or — encryption at
 * rest — sealed with AES-256-GCM under a key of the session's own (HKDF of a master key and the
 * session token). The store never sees the token, so a store dump cannot be opened even with
 * the secret. Each value is bound to its session id and key (associated data).
 */
export class SessionValues {
  /** `keys` is `null` when values are stored plain. */
  constructor(
    private readonly keys: Keyring | null,
    private readonly token: string | null,
  ) {}

  /** What the store keeps for `json`, the value under `key` of session `id`. */
  stored(id: string, key: string, json: string): string {
    if (this.keys === null) {
      return json;
    }
    return seal(json, this.dataKey(this.keys.primary), `${id}/${key}`);
  }

  /** The JSON of a stored value, or `null` if it does not open (tampered, moved, unknown key). */
  plain(id: string, key: string, stored: string): string | null {
    if (this.keys === null) {
      return stored;
    }
    const master = this.keys.find(sealedKeyId(stored) ?? '');
    return master === undefined
      ? null
      : openRemembered(stored, this.dataKey(master), `${id}/${key}`);
  }

  /** Whether a stored value was sealed under an older master key (after a secret rotation). */
  isStale(stored: string): boolean {
    return this.keys !== null && sealedKeyId(stored) !== this.keys.primary.id;
  }

  private dataKey(master: DerivedKey): DerivedKey {
    return sessionDataKey(master, this.token ?? '');
  }
}
