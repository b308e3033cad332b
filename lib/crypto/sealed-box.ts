import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { DerivedKey } from './keyring.js';

const IV_BYTES = 12;
const TAG_BYTES = 16;
const SEALED_PATTERN =
  /^([A-Za-z0-9_-]{8})\.([A-Za-z0-9_-]{16})\.([A-Za-z0-9_-]*)\.([A-Za-z0-9_-]{22})$/;

/**
 * Seals text with AES-256-GCM under `key`, a fresh 96-bit IV each time, binding `context`
 * (e.g. the session id and data key) as additional authenticated data: the result opens only
 * with the same key and context. Format: `<keyId>.<iv>.<ciphertext>.<tag>`, base64url.
 */
export function seal(plaintext: string, key: DerivedKey, context: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key.key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(context));
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return `${key.id}.${iv.toString('base64url')}.${ciphertext.toString('base64url')}.${cipher
    .getAuthTag()
    .toString('base64url')}`;
}

/** The key id a sealed value names, or `null` when it is not a sealed value at all. */
export function sealedKeyId(sealed: string): string | null {
  return SEALED_PATTERN.exec(sealed)?.[1] ?? null;
}

/**
 * Opens a sealed value with `key` (the caller selects it by `sealedKeyId`). Anything
 * tampered, truncated, extended, made for another context or another key is `null`.
 */
export function open(sealed: string, key: DerivedKey, context: string): string | null {
  const match = SEALED_PATTERN.exec(sealed);
  if (match === null || match[1] !== key.id) {
    return null;
  }
  const iv = Buffer.from(match[2], 'base64url');
  const ciphertext = Buffer.from(match[3], 'base64url');
  const tag = Buffer.from(match[4], 'base64url');
  if (
    iv.length !== IV_BYTES ||
    tag.length !== TAG_BYTES ||
    iv.toString('base64url') !== match[2] ||
    ciphertext.toString('base64url') !== match[3] ||
    tag.toString('base64url') !== match[4]
  ) {
    return null;
  }
  try {
    const decipher = createDecipheriv('aes-256-gcm', key.key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(context));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
  } catch {
    return null;
  }
}

/** Most opened values remembered per key; the memo is emptied when full. */
const OPENED_MEMO_SIZE = 10_000;
const openedMemos = new WeakMap<DerivedKey, Map<string, string>>();

/**
 * `open`, remembering what opened (bounded, per key and context): a sealed cookie presented on
 * request after request is decrypted once. Only values that authenticated are remembered, keyed
 * by their exact text; what they say (expiry, revocation) is still checked on every request.
 */
export function openRemembered(sealed: string, key: DerivedKey, context: string): string | null {
  let memo = openedMemos.get(key);
  const memoKey = `${context}\n${sealed}`;
  const remembered = memo?.get(memoKey);
  if (remembered !== undefined) {
    return remembered;
  }
  const plaintext = open(sealed, key, context);
  if (plaintext !== null) {
    if (memo === undefined) {
      memo = new Map();
      openedMemos.set(key, memo);
    } else if (memo.size >= OPENED_MEMO_SIZE) {
      memo.clear();
    }
    memo.set(memoKey, plaintext);
  }
  return plaintext;
}
