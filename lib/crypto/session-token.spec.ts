import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import {
  deriveKey,
  generateToken,
  sessionIdOf,
  signToken,
  TOKEN_BYTES,
  verifySignedToken,
} from './session-token.js';

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const SECRET = 'tX9#kQ2!vL7@pR4$wZ8%nB3^mC6&hJ1*';
const OLD_SECRET = 'Yq3!Lm8@Zr5#Tw2$Kp9%Vx6^Bn4&Hd7*';
const KEY = deriveKey(SECRET, 'token-signing');
const OLD_KEY = deriveKey(OLD_SECRET, 'token-signing');

/** A token made of 32 bytes, as `generateToken` would produce, from fast-check's bytes. */
const tokenArbitrary = fc
  .uint8Array({ minLength: 32, maxLength: 32 })
  .map((bytes) => Buffer.from(bytes).toString('base64url'));

describe('generateToken', () => {
  it('makes 256-bit base64url tokens', () => {
    expect(TOKEN_BYTES).toBe(32);
    const token = generateToken();
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(token, 'base64url')).toHaveLength(32);
    expect(Buffer.from(token, 'base64url').toString('base64url')).toBe(token);
  });

  it('never repeats', () => {
    const tokens = new Set(Array.from({ length: 2000 }, generateToken));
    expect(tokens.size).toBe(2000);
  });

  it('uses the whole alphabet over many tokens (not a narrowed random source)', () => {
    const seen = new Set(Array.from({ length: 500 }, generateToken).join(''));
    expect(seen.size).toBe(64);
  });
});

describe('sessionIdOf', () => {
  it('is the SHA-256 of the token, base64url, and never the token', () => {
    const token = generateToken();
    const id = sessionIdOf(token);
    expect(id).toBe(createHash('sha256').update(token).digest('base64url'));
    expect(id).not.toBe(token);
    expect(id).not.toContain(token);
    expect(sessionIdOf(token)).toBe(id);
  });

  it('differs for different tokens', () => {
    fc.assert(
      fc.property(tokenArbitrary, tokenArbitrary, (a, b) => {
        fc.pre(a !== b);
        expect(sessionIdOf(a)).not.toBe(sessionIdOf(b));
      }),
    );
  });
});

describe('deriveKey', () => {
  it('derives a deterministic 32-byte key per secret and purpose', () => {
    expect(deriveKey(SECRET, 'token-signing')).toHaveLength(32);
    expect(deriveKey(SECRET, 'token-signing').equals(KEY)).toBe(true);
    expect(deriveKey(OLD_SECRET, 'token-signing').equals(KEY)).toBe(false);
    expect(deriveKey(SECRET, 'csrf').equals(KEY)).toBe(false);
    expect(KEY.equals(Buffer.from(SECRET))).toBe(false);
  });
});

describe('signToken / verifySignedToken', () => {
  it('verifies what it signed, with the index of the key that matched', () => {
    const token = generateToken();
    const signed = signToken(token, KEY);
    expect(signed).toMatch(/^[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}$/);
    expect(signed.startsWith(`${token}.`)).toBe(true);
    expect(verifySignedToken(signed, [KEY])).toEqual({
      token,
      id: sessionIdOf(token),
      keyIndex: 0,
    });
    expect(verifySignedToken(signed, [KEY, OLD_KEY])).toEqual({
      token,
      id: sessionIdOf(token),
      keyIndex: 0,
    });
  });

  it('verifies a token signed by an older key at that key index (rotation)', () => {
    const token = generateToken();
    const signed = signToken(token, OLD_KEY);
    expect(verifySignedToken(signed, [KEY, OLD_KEY])).toEqual({
      token,
      id: sessionIdOf(token),
      keyIndex: 1,
    });
    expect(verifySignedToken(signed, [KEY])).toBeNull();
  });

  it('refuses a signature made with a key of another purpose', () => {
    const token = generateToken();
    expect(verifySignedToken(signToken(token, deriveKey(SECRET, 'csrf')), [KEY])).toBeNull();
  });

  it('refuses everything when no key is configured', () => {
    expect(verifySignedToken(signToken(generateToken(), KEY), [])).toBeNull();
  });

  it('refuses a signature whose unused trailing bits differ (no two spellings of one signature)', () => {
    const token = generateToken();
    const signed = signToken(token, KEY);
    const last = signed[signed.length - 1];
    // 43 base64url characters carry 258 bits; the last character's low 2 bits are padding.
    const sibling = BASE64URL[BASE64URL.indexOf(last) ^ 1];
    const variant = `${signed.slice(0, -1)}${sibling}`;
    expect(Buffer.from(variant.split('.')[1], 'base64url')).toEqual(
      Buffer.from(signed.split('.')[1], 'base64url'),
    );
    expect(verifySignedToken(variant, [KEY])).toBeNull();
  });

  it.each([
    ['empty', ''],
    ['a dot', '.'],
    ['token only', 'A'.repeat(43)],
    ['short signature', `${'A'.repeat(43)}.${'A'.repeat(42)}`],
    ['long signature', `${'A'.repeat(43)}.${'A'.repeat(44)}`],
    ['padded base64', `${'A'.repeat(43)}=.${'A'.repeat(43)}=`],
    ['standard base64 alphabet', `${'+'.repeat(43)}.${'/'.repeat(43)}`],
    ['two dots', `${'A'.repeat(43)}..${'A'.repeat(42)}`],
    ['unicode', `${'é'.repeat(43)}.${'é'.repeat(43)}`],
    ['NUL bytes', `${'\0'.repeat(43)}.${'\0'.repeat(43)}`],
    ['oversized', 'A'.repeat(100_000)],
  ])('returns null for %s', (_label, input) => {
    expect(verifySignedToken(input, [KEY])).toBeNull();
  });

  describe('properties', () => {
    it('never throws and never verifies for arbitrary strings', () => {
      fc.assert(
        fc.property(
          fc.oneof(
            fc.string({ unit: 'binary', maxLength: 120 }),
            fc.string({ unit: 'grapheme', maxLength: 120 }),
            fc.stringMatching(/^[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}$/),
          ),
          (input) => {
            expect(verifySignedToken(input, [KEY, OLD_KEY])).toBeNull();
          },
        ),
        { numRuns: 2000 },
      );
    });

    it('signing then verifying round-trips any token under any key', () => {
      fc.assert(
        fc.property(
          tokenArbitrary,
          fc.string({ minLength: 32, maxLength: 64 }),
          (token, secret) => {
            const key = deriveKey(secret, 'token-signing');
            expect(verifySignedToken(signToken(token, key), [key])).toEqual({
              token,
              id: sessionIdOf(token),
              keyIndex: 0,
            });
          },
        ),
      );
    });

    it('changing any one character of a signed token makes it fail', () => {
      const signed = signToken(generateToken(), KEY);
      fc.assert(
        fc.property(
          fc.nat({ max: signed.length - 1 }),
          fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
          (index, char) => {
            fc.pre(char !== signed[index]);
            const altered = `${signed.slice(0, index)}${char}${signed.slice(index + 1)}`;
            expect(verifySignedToken(altered, [KEY, OLD_KEY])).toBeNull();
          },
        ),
        { numRuns: 2000 },
      );
    });

    it('a signature for one token never verifies another token', () => {
      fc.assert(
        fc.property(tokenArbitrary, tokenArbitrary, (a, b) => {
          fc.pre(a !== b);
          const signatureOfA = signToken(a, KEY).split('.')[1];
          expect(verifySignedToken(`${b}.${signatureOfA}`, [KEY])).toBeNull();
        }),
      );
    });
  });

  describe('memo of verified tokens', () => {
    it('remembers a verified token only for the key list that verified it', () => {
      const signed = signToken(generateToken(), OLD_KEY);
      const rotating = [KEY, OLD_KEY];
      expect(verifySignedToken(signed, rotating)?.keyIndex).toBe(1);
      expect(verifySignedToken(signed, rotating)?.keyIndex).toBe(1);
      // The old secret removed: a new key list, and nothing remembered opens it.
      expect(verifySignedToken(signed, [KEY])).toBeNull();
    });

    it('never remembers a forgery', () => {
      const token = generateToken();
      const forged = `${token}.${signToken(token, OLD_KEY).split('.')[1]}`;
      const keys = [KEY];
      expect(verifySignedToken(forged, keys)).toBeNull();
      expect(verifySignedToken(forged, keys)).toBeNull();
      expect(verifySignedToken(signToken(token, KEY), keys)?.token).toBe(token);
    });
  });
});
