import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Keyring } from '../crypto/keyring.js';

/** What a challenge is for: a first registration (bound to the session id), or a refresh. */
export type ChallengePurpose = 'register' | 'refresh';

const NONCE_BYTES = 16;
const CHALLENGE = /^([0-9a-z]{1,12})\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/;
const BOUND_COOKIE = /^([0-9]{1,15})\.([A-Za-z0-9_-]{43})$/;

function mac(key: Buffer, ...parts: string[]): Buffer {
  // Each part is length-prefixed, so no two different inputs share a MAC input.
  const hmac = createHmac('sha256', key);
  for (const part of parts) {
    hmac.update(`${Buffer.byteLength(part)}:${part};`);
  }
  return hmac.digest();
}

function matchesAny(keyring: Keyring, given: string, ...parts: string[]): boolean {
  const candidate = Buffer.from(given, 'base64url');
  if (candidate.length !== 32 || candidate.toString('base64url') !== given) {
    return false;
  }
  return keyring.keys.some(({ key }) => timingSafeEqual(mac(key, ...parts), candidate));
}

/**
 * A challenge for a DBSC proof: when it was issued, a random nonce, and a MAC over both and
 * what it is for (`purpose` and `subject`: the session id for a registration, the binding id
 * for a refresh). The server keeps nothing: a proof answering it can only be for that subject,
 * and single use comes from the binding, which records the newest challenge it accepted.
 */
export function issueChallenge(
  keyring: Keyring,
  purpose: ChallengePurpose,
  subject: string,
  now: number,
): string {
  const issuedAt = Math.floor(now).toString(36);
  const nonce = randomBytes(NONCE_BYTES).toString('base64url');
  const tag = mac(keyring.primary.key, 'challenge', purpose, subject, issuedAt, nonce);
  return `${issuedAt}.${nonce}.${tag.toString('base64url')}`;
}

/** When a challenge this server issued for `purpose` and `subject` was issued, or `null` (not one). */
export function challengeIssuedAt(
  keyring: Keyring,
  challenge: string,
  purpose: ChallengePurpose,
  subject: string,
): number | null {
  const parts = CHALLENGE.exec(challenge);
  if (parts === null) {
    return null;
  }
  const [, issuedAt, nonce, tag] = parts;
  if (!matchesAny(keyring, tag, 'challenge', purpose, subject, issuedAt, nonce)) {
    return null;
  }
  return parseInt(issuedAt, 36);
}

/**
 * The bound cookie's value: its expiry (s since the epoch) and a MAC over it and the binding id.
 * Checked on every request of a bound session with one HMAC, no store access; a copy of it works
 * only until the expiry, and only a proof from the device's key gets the next one.
 */
export function boundCookieValue(keyring: Keyring, bindingId: string, expiresAt: number): string {
  const expiry = Math.floor(expiresAt / 1000).toString();
  return `${expiry}.${mac(keyring.primary.key, 'bound-cookie', bindingId, expiry).toString('base64url')}`;
}

/** Whether `value` is a bound cookie of `bindingId` that has not expired at `now`. */
export function isValidBoundCookie(
  keyring: Keyring,
  value: string | undefined,
  bindingId: string,
  now: number,
): boolean {
  const parts = value === undefined ? null : BOUND_COOKIE.exec(value);
  if (parts === null) {
    return false;
  }
  const [, expiry, tag] = parts;
  return Number(expiry) * 1000 > now && matchesAny(keyring, tag, 'bound-cookie', bindingId, expiry);
}
