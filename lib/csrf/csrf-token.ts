import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Keyring } from '../crypto/keyring.js';

const CSRF_TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

function mac(sessionId: string, key: Buffer): Buffer {
  return createHmac('sha256', key).update(`csrf:${sessionId}`).digest();
}

/**
 * The CSRF token of a session: HMAC-SHA-256 of its id under the CSRF key. Bound to the session
 * (another session's token fails), renewed whenever the id changes (login, regenerate) but for
 * a token rotation (`rotateEvery`: it stays bound to the id before the first rotation), and
 * made with a key of its own, so it never passes as a session token or the other way round.
 */
export function csrfTokenFor(sessionId: string, keyring: Keyring): string {
  return mac(sessionId, keyring.primary.key).toString('base64url');
}

/** Whether `candidate` is this session's CSRF token under any configured key; constant-time. */
export function verifyCsrfToken(candidate: unknown, sessionId: string, keyring: Keyring): boolean {
  if (typeof candidate !== 'string' || !CSRF_TOKEN_PATTERN.test(candidate)) {
    return false;
  }
  const given = Buffer.from(candidate, 'base64url');
  if (given.length !== 32 || given.toString('base64url') !== candidate) {
    return false;
  }
  return keyring.keys.some(({ key }) => timingSafeEqual(mac(sessionId, key), given));
}
