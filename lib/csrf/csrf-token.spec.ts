import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { Keyring } from '../crypto/keyring.js';
import { seal } from '../crypto/sealed-box.js';
import {
  deriveKey,
  generateToken,
  sessionIdOf,
  signToken,
  verifySignedToken,
} from '../crypto/session-token.js';
import { csrfTokenFor, verifyCsrfToken } from './csrf-token.js';

const S1 = 'tX9#kQ2!vL7@pR4$wZ8%nB3^mC6&hJ1*';
const S2 = 'Yq3!Lm8@Zr5#Tw2$Kp9%Vx6^Bn4&Hd7*';
const CSRF = new Keyring([S1], 'csrf');
const SIGNING_KEYS = new Keyring([S1], 'token-signing').keys.map(({ key }) => key);

/** A session as the library makes one: a token, and the public id hashed from it. */
function newSession(): { token: string; id: string; signed: string } {
  const token = generateToken();
  return { token, id: sessionIdOf(token), signed: signToken(token, SIGNING_KEYS[0]) };
}

describe('CSRF tokens', () => {
  it('verify for their own session, are 256-bit base64url, and are not the session id or token', () => {
    const session = newSession();
    const csrf = csrfTokenFor(session.id, CSRF);
    expect(csrf).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(verifyCsrfToken(csrf, session.id, CSRF)).toBe(true);
    expect(csrf).not.toBe(session.id);
    expect(csrf).not.toBe(session.token);
    expect(session.signed).not.toContain(csrf);
    expect(csrfTokenFor(session.id, CSRF)).toBe(csrf);
  });

  it('a token of session A fails for session B', () => {
    const a = newSession();
    const b = newSession();
    expect(verifyCsrfToken(csrfTokenFor(a.id, CSRF), b.id, CSRF)).toBe(false);
    expect(verifyCsrfToken(csrfTokenFor(b.id, CSRF), a.id, CSRF)).toBe(false);
    expect(csrfTokenFor(a.id, CSRF)).not.toBe(csrfTokenFor(b.id, CSRF));
  });

  it('a token made with another secret fails', () => {
    const session = newSession();
    const foreign = csrfTokenFor(session.id, new Keyring([S2], 'csrf'));
    expect(verifyCsrfToken(foreign, session.id, CSRF)).toBe(false);
  });

  it('rotation: an old token verifies while its secret is listed, and fails once removed', () => {
    const session = newSession();
    const old = csrfTokenFor(session.id, new Keyring([S1], 'csrf'));
    const during = new Keyring([S2, S1], 'csrf');
    const after = new Keyring([S2], 'csrf');
    expect(verifyCsrfToken(old, session.id, during)).toBe(true);
    // New tokens come from the new secret, and survive the removal of the old one.
    const renewed = csrfTokenFor(session.id, during);
    expect(renewed).not.toBe(old);
    expect(verifyCsrfToken(renewed, session.id, after)).toBe(true);
    expect(verifyCsrfToken(old, session.id, after)).toBe(false);
  });

  it('refuses non-strings, wrong lengths, padding, other alphabets and non-canonical encodings', () => {
    const session = newSession();
    const csrf = csrfTokenFor(session.id, CSRF);
    const bytes = Buffer.from(csrf, 'base64url');
    // 43 base64url characters carry 258 bits: the last character's 2 low bits must be zero.
    const last = csrf[42];
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const lastIndex = alphabet.indexOf(last);
    const nonCanonical = csrf.slice(0, 42) + alphabet[lastIndex ^ 1];
    expect(Buffer.from(nonCanonical, 'base64url').equals(bytes)).toBe(true);
    const candidates: unknown[] = [
      undefined,
      null,
      42,
      [csrf],
      { csrf },
      Buffer.from(csrf),
      '',
      csrf.slice(0, 42),
      `${csrf}A`,
      `${csrf}=`,
      ` ${csrf}`,
      bytes.toString('base64'),
      bytes.toString('hex'),
      nonCanonical,
      csrf.toUpperCase() === csrf ? csrf.toLowerCase() : csrf.toUpperCase(),
    ];
    for (const candidate of candidates) {
      expect(verifyCsrfToken(candidate, session.id, CSRF)).toBe(false);
    }
    expect(verifyCsrfToken(csrf, session.id, CSRF)).toBe(true);
  });

  it('refuses every single-character change', () => {
    const session = newSession();
    const csrf = csrfTokenFor(session.id, CSRF);
    for (let i = 0; i < csrf.length; i++) {
      const changed = csrf.slice(0, i) + (csrf[i] === 'A' ? 'B' : 'A') + csrf.slice(i + 1);
      expect(verifyCsrfToken(changed, session.id, CSRF)).toBe(false);
    }
  });

  it('never throws, and never verifies a string it did not make (property)', () => {
    const session = newSession();
    const csrf = csrfTokenFor(session.id, CSRF);
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ unit: 'binary', maxLength: 80 }), fc.base64String()),
        (s) => {
          fc.pre(s !== csrf);
          expect(verifyCsrfToken(s, session.id, CSRF)).toBe(false);
        },
      ),
      { numRuns: 2_000 },
    );
  });
});

describe('key separation between CSRF tokens and session tokens', () => {
  it('a CSRF token never verifies as a signed session token, in any position', () => {
    const session = newSession();
    const csrf = csrfTokenFor(session.id, CSRF);
    const csrfOfToken = csrfTokenFor(session.token, CSRF);
    const candidates = [
      csrf,
      `${session.token}.${csrf}`,
      `${session.token}.${csrfOfToken}`,
      `${session.id}.${csrf}`,
      `${csrf}.${csrf}`,
      `${csrf}.${session.signed.split('.')[1]}`,
    ];
    for (const candidate of candidates) {
      expect(verifySignedToken(candidate, SIGNING_KEYS)).toBeNull();
    }
  });

  it('a session token (or its signature) never verifies as a CSRF token', () => {
    const session = newSession();
    const [token, signature] = session.signed.split('.');
    for (const candidate of [session.signed, token, signature, session.id]) {
      expect(verifyCsrfToken(candidate, session.id, CSRF)).toBe(false);
      expect(verifyCsrfToken(candidate, token, CSRF)).toBe(false);
    }
  });

  it('a CSRF keyring built from the signing purpose would not verify real CSRF tokens', () => {
    // The CSRF key and the signing key differ, so even the same MAC input cannot cross over.
    const session = newSession();
    const wrongPurpose = new Keyring([S1], 'token-signing');
    expect(verifyCsrfToken(csrfTokenFor(session.id, CSRF), session.id, wrongPurpose)).toBe(false);
    expect(deriveKey(S1, 'csrf').equals(deriveKey(S1, 'token-signing'))).toBe(false);
  });

  it('a sealed value never verifies as a session token or a CSRF token', () => {
    const session = newSession();
    const sealing = new Keyring([S1], 'cookie-sealing');
    const sealed = seal(JSON.stringify({ id: session.id }), sealing.primary, '__Host-sid');
    expect(verifySignedToken(sealed, SIGNING_KEYS)).toBeNull();
    expect(verifyCsrfToken(sealed, session.id, CSRF)).toBe(false);
  });
});
