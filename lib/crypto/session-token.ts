import { createHmac, hash, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';

/** Bytes of entropy in a session token (256 bits). */
export const TOKEN_BYTES = 32;
const SIGNATURE_BYTES = 32;
/** base64url length of 32 bytes, without padding. */
const ENCODED_32_BYTES = 43;

/** The signed form of a token as it travels: `<token>.<signature>`, both base64url. */
const SIGNED_TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}$/;

/** Purposes that keys are derived for; a key made for one purpose never verifies another. */
export type KeyPurpose =
  | 'token-signing'
  | 'csrf'
  | 'data-encryption'
  | 'cookie-sealing'
  | 'client-network'
  | 'device-binding';

const HKDF_SALT = 'nest-secure-session/v1';

/** Derives a 256-bit key for one purpose from a configured secret with HKDF-SHA-256. */
export function deriveKey(secret: string, purpose: KeyPurpose): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, HKDF_SALT, purpose, 32));
}

/** A new session token: 256 bits from the OS CSPRNG, base64url. */
export function generateToken(): string {
  return randomBytes(TOKEN_BYTES).toString('base64url');
}

/**
 * The public id of the session a token opens: SHA-256 of the token. The store is keyed by it,
 * so a dump of the store yields no usable token.
 */
export function sessionIdOf(token: string): string {
  return hash('sha256', token, 'base64url');
}

function signatureOf(token: string, key: Buffer): Buffer {
  return createHmac('sha256', key).update(token).digest();
}

/** `<token>.<HMAC-SHA-256(key, token)>`. */
export function signToken(token: string, key: Buffer): string {
  return `${token}.${signatureOf(token, key).toString('base64url')}`;
}

/** A token whose signature checked out, and the index of the key that verified it. */
export interface VerifiedToken {
  token: string;
  /** `sessionIdOf(token)`, computed once with the verification and remembered with it. */
  id: string;
  keyIndex: number;
}

/** Most signed tokens remembered as verified, per key list; the memo is emptied when full. */
const VERIFIED_MEMO_SIZE = 10_000;
const verifiedMemos = new WeakMap<readonly Buffer[], Map<string, VerifiedToken>>();

/**
 * Checks a signed token against every key, newest first. Anything malformed — wrong length,
 * wrong alphabet, a signature that does not decode to 32 bytes — is `null`, never an exception.
 *
 * Signed tokens that passed are remembered (bounded, per key list), so a session's later
 * requests skip the HMAC and the SHA-256 of the id. Only exact strings that already passed the constant-time check are
 * remembered; whether the session still exists is asked of the store on every request.
 */
export function verifySignedToken(signed: string, keys: readonly Buffer[]): VerifiedToken | null {
  let memo = verifiedMemos.get(keys);
  const remembered = memo?.get(signed);
  if (remembered !== undefined) {
    return remembered;
  }
  const verified = verifyWithKeys(signed, keys);
  if (verified !== null) {
    if (memo === undefined) {
      memo = new Map();
      verifiedMemos.set(keys, memo);
    } else if (memo.size >= VERIFIED_MEMO_SIZE) {
      memo.clear();
    }
    memo.set(signed, verified);
  }
  return verified;
}

function verifyWithKeys(signed: string, keys: readonly Buffer[]): VerifiedToken | null {
  if (signed.length !== ENCODED_32_BYTES * 2 + 1 || !SIGNED_TOKEN_PATTERN.test(signed)) {
    return null;
  }
  const token = signed.slice(0, ENCODED_32_BYTES);
  const given = Buffer.from(signed.slice(ENCODED_32_BYTES + 1), 'base64url');
  // base64url of 43 chars may carry non-zero trailing bits: re-encoding must round-trip exactly,
  // otherwise two different strings would verify as one signature.
  if (
    given.length !== SIGNATURE_BYTES ||
    given.toString('base64url') !== signed.slice(ENCODED_32_BYTES + 1)
  ) {
    return null;
  }
  for (let keyIndex = 0; keyIndex < keys.length; keyIndex++) {
    // Constant-time: the time taken must not tell how many leading bytes of a forgery matched.
    if (timingSafeEqual(signatureOf(token, keys[keyIndex]), given)) {
      return Object.freeze({ token, id: sessionIdOf(token), keyIndex });
    }
  }
  return null;
}
