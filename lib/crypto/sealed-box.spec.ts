import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { Keyring, type DerivedKey } from './keyring.js';
import { open, openRemembered, seal, sealedKeyId } from './sealed-box.js';

const S1 = 'tX9#kQ2!vL7@pR4$wZ8%nB3^mC6&hJ1*';
const S2 = 'Yq3!Lm8@Zr5#Tw2$Kp9%Vx6^Bn4&Hd7*';
const KEY: DerivedKey = new Keyring([S1], 'data-encryption').primary;
const OTHER_KEY: DerivedKey = new Keyring([S2], 'data-encryption').primary;
const CONTEXT = 'session-id-A/theme';
const PLAINTEXT = '{"card":"4111 1111 1111 1111","note":"top secret"}';
const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** A different character at `index`: another base64url character, or one for a dot. */
function flipCharAt(sealed: string, index: number): string {
  const current = sealed[index];
  const replacement = current === 'A' ? 'B' : 'A';
  return sealed.slice(0, index) + replacement + sealed.slice(index + 1);
}

/** Every byte of every base64url segment XOR-ed with `mask`, one at a time, re-encoded. */
function byteFlips(sealed: string, mask: number): string[] {
  const segments = sealed.split('.');
  const variants: string[] = [];
  for (let segment = 1; segment < segments.length; segment++) {
    const bytes = Buffer.from(segments[segment], 'base64url');
    for (let i = 0; i < bytes.length; i++) {
      const copy = Buffer.from(bytes);
      copy[i] ^= mask;
      const parts = [...segments];
      parts[segment] = copy.toString('base64url');
      variants.push(parts.join('.'));
    }
  }
  return variants;
}

describe('sealed box (AES-256-GCM)', () => {
  it('opens what it sealed, with the same key and context', () => {
    for (const text of [PLAINTEXT, '', 'é ✓ 𝄞 日本', 'x'.repeat(10_000)]) {
      const sealed = seal(text, KEY, CONTEXT);
      expect(open(sealed, KEY, CONTEXT)).toBe(text);
    }
  });

  it('names the sealing key, and never shows the plaintext', () => {
    const sealed = seal(PLAINTEXT, KEY, CONTEXT);
    expect(sealedKeyId(sealed)).toBe(KEY.id);
    expect(sealed.startsWith(`${KEY.id}.`)).toBe(true);
    expect(sealed).toMatch(
      /^[A-Za-z0-9_-]{8}\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]{22}$/,
    );
    expect(sealed).not.toContain('secret');
    expect(Buffer.from(sealed.split('.')[2], 'base64url').toString('latin1')).not.toContain(
      'secret',
    );
    expect(sealedKeyId('not sealed at all')).toBeNull();
  });

  it('seals the same plaintext differently every time (fresh IV)', () => {
    const sealedValues = Array.from({ length: 50 }, () => seal(PLAINTEXT, KEY, CONTEXT));
    expect(new Set(sealedValues).size).toBe(sealedValues.length);
    expect(new Set(sealedValues.map((sealed) => sealed.split('.')[1])).size).toBe(50);
    expect(new Set(sealedValues.map((sealed) => sealed.split('.')[2])).size).toBe(50);
    for (const sealed of sealedValues) {
      expect(open(sealed, KEY, CONTEXT)).toBe(PLAINTEXT);
    }
  });

  it('refuses a value with any single character changed (every position)', () => {
    const sealed = seal(PLAINTEXT, KEY, CONTEXT);
    for (let index = 0; index < sealed.length; index++) {
      const tampered = flipCharAt(sealed, index);
      expect(tampered).not.toBe(sealed);
      expect(open(tampered, KEY, CONTEXT)).toBeNull();
    }
  });

  it('refuses a value with any single byte changed (every byte of IV, ciphertext and tag)', () => {
    const sealed = seal(PLAINTEXT, KEY, CONTEXT);
    for (const mask of [0x01, 0x80, 0xff]) {
      const variants = byteFlips(sealed, mask);
      expect(variants).toHaveLength(12 + Buffer.byteLength(PLAINTEXT) + 16);
      for (const tampered of variants) {
        expect(open(tampered, KEY, CONTEXT)).toBeNull();
      }
    }
  });

  it('refuses every truncation and every single-character deletion', () => {
    const sealed = seal(PLAINTEXT, KEY, CONTEXT);
    for (let length = 0; length < sealed.length; length++) {
      expect(open(sealed.slice(0, length), KEY, CONTEXT)).toBeNull();
      expect(open(sealed.slice(sealed.length - length), KEY, CONTEXT)).toBeNull();
    }
    for (let index = 0; index < sealed.length; index++) {
      expect(open(sealed.slice(0, index) + sealed.slice(index + 1), KEY, CONTEXT)).toBeNull();
    }
  });

  it('refuses every extension: appended, prepended or inserted characters, padding, more segments', () => {
    const sealed = seal(PLAINTEXT, KEY, CONTEXT);
    for (const extra of [...BASE64URL, '=', '==', '.', '.A', ' ', '\n', '\0']) {
      expect(open(sealed + extra, KEY, CONTEXT)).toBeNull();
      expect(open(extra + sealed, KEY, CONTEXT)).toBeNull();
    }
    const [id, iv, ciphertext, tag] = sealed.split('.');
    for (const extra of ['A', 'AAAA', '_']) {
      expect(open([id, iv, ciphertext + extra, tag].join('.'), KEY, CONTEXT)).toBeNull();
      expect(open([id, iv + extra, ciphertext, tag].join('.'), KEY, CONTEXT)).toBeNull();
      expect(open([id, iv, ciphertext, tag + extra].join('.'), KEY, CONTEXT)).toBeNull();
    }
    // Swapped segments and an empty ciphertext.
    expect(open([id, iv, tag, ciphertext].join('.'), KEY, CONTEXT)).toBeNull();
    expect(open([id, iv, '', tag].join('.'), KEY, CONTEXT)).toBeNull();
  });

  it('refuses the value under another context (additional authenticated data)', () => {
    const sealed = seal(PLAINTEXT, KEY, CONTEXT);
    for (const context of ['session-id-B/theme', 'session-id-A/other', '', `${CONTEXT} `]) {
      expect(open(sealed, KEY, context)).toBeNull();
    }
  });

  it('refuses the value under another key, even one given the same key id', () => {
    const sealed = seal(PLAINTEXT, KEY, CONTEXT);
    expect(open(sealed, OTHER_KEY, CONTEXT)).toBeNull();
    const impostor: DerivedKey = { id: KEY.id, key: OTHER_KEY.key };
    expect(open(sealed, impostor, CONTEXT)).toBeNull();
    // A key made for another purpose from the same secret does not open it either.
    const signing = new Keyring([S1], 'cookie-sealing').primary;
    expect(open(sealed, signing, CONTEXT)).toBeNull();
    expect(open(sealed.replace(KEY.id, signing.id), signing, CONTEXT)).toBeNull();
  });

  it('never throws on arbitrary strings (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (candidate) => {
        expect(open(candidate, KEY, CONTEXT)).toBeNull();
      }),
      { numRuns: 2_000 },
    );
  });

  it('never throws on strings shaped like sealed values, and opens none it did not seal (property)', () => {
    const segment = (min: number, max: number) =>
      fc.string({ unit: fc.constantFrom(...BASE64URL), minLength: min, maxLength: max });
    fc.assert(
      fc.property(
        segment(16, 16),
        segment(0, 80),
        segment(22, 22),
        fc.constantFrom(KEY.id, OTHER_KEY.id),
        (iv, ciphertext, tag, id) => {
          expect(open(`${id}.${iv}.${ciphertext}.${tag}`, KEY, CONTEXT)).toBeNull();
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it('refuses any mutation of a real sealed value (property)', () => {
    const sealed = seal(PLAINTEXT, KEY, CONTEXT);
    fc.assert(
      fc.property(
        fc.nat({ max: sealed.length - 1 }),
        fc.nat({ max: sealed.length }),
        fc.string({ unit: 'binary', maxLength: 8 }),
        (start, deleteCount, insert) => {
          const mutated =
            sealed.slice(0, start) +
            insert +
            sealed.slice(Math.min(sealed.length, start + deleteCount));
          fc.pre(mutated !== sealed);
          expect(open(mutated, KEY, CONTEXT)).toBeNull();
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it('round-trips arbitrary Unicode text (property)', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 200 }),
        fc.string({ maxLength: 40 }),
        (text, context) => {
          expect(open(seal(text, KEY, context), KEY, context)).toBe(text);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('openRemembered', () => {
  it('opens like open, and a remembered value still needs the same key and context', () => {
    const sealed = seal(PLAINTEXT, KEY, CONTEXT);
    expect(openRemembered(sealed, KEY, CONTEXT)).toBe(PLAINTEXT);
    expect(openRemembered(sealed, KEY, CONTEXT)).toBe(PLAINTEXT);
    expect(openRemembered(sealed, KEY, 'session-id-B/theme')).toBeNull();
    expect(openRemembered(sealed, OTHER_KEY, CONTEXT)).toBeNull();
  });

  it('never remembers what did not open', () => {
    const sealed = seal(PLAINTEXT, KEY, CONTEXT);
    const tampered = `${sealed.slice(0, -1)}${sealed.endsWith('A') ? 'B' : 'A'}`;
    expect(openRemembered(tampered, KEY, CONTEXT)).toBeNull();
    expect(openRemembered(tampered, KEY, CONTEXT)).toBeNull();
  });
});
