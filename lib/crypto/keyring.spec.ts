import { describe, expect, it } from '@jest/globals';
import { resolveSessionOptions } from '../options/resolve-session-options.js';
import { Keyring } from './keyring.js';
import { open, seal } from './sealed-box.js';
import {
  deriveKey,
  generateToken,
  sessionIdOf,
  signToken,
  verifySignedToken,
  type KeyPurpose,
} from './session-token.js';

const S1 = 'tX9#kQ2!vL7@pR4$wZ8%nB3^mC6&hJ1*';
const S2 = 'Yq3!Lm8@Zr5#Tw2$Kp9%Vx6^Bn4&Hd7*';
const S3 = 'Gf6!Wd1@Qs8#Jk3$Rm5%Nz2^Pb9&Cx4*';
const PURPOSES: KeyPurpose[] = ['token-signing', 'csrf', 'data-encryption', 'cookie-sealing'];

describe('HKDF key derivation', () => {
  it('gives every purpose its own 256-bit key from the same secret', () => {
    const keys = PURPOSES.map((purpose) => deriveKey(S1, purpose));
    for (const key of keys) {
      expect(key).toHaveLength(32);
      expect(key.equals(Buffer.from(S1).subarray(0, 32))).toBe(false);
    }
    expect(new Set(keys.map((key) => key.toString('hex'))).size).toBe(PURPOSES.length);
    const ids = PURPOSES.map((purpose) => new Keyring([S1], purpose).primary.id);
    expect(new Set(ids).size).toBe(PURPOSES.length);
  });

  it('is deterministic per secret and purpose, and differs between secrets', () => {
    for (const purpose of PURPOSES) {
      expect(deriveKey(S1, purpose).equals(deriveKey(S1, purpose))).toBe(true);
      expect(deriveKey(S1, purpose).equals(deriveKey(S2, purpose))).toBe(false);
      expect(new Keyring([S1], purpose).primary.id).toBe(new Keyring([S1], purpose).primary.id);
      expect(new Keyring([S1], purpose).primary.id).not.toBe(new Keyring([S2], purpose).primary.id);
    }
  });

  it('resolved options derive one keyring per purpose, the signing keys apart from all others', () => {
    const options = resolveSessionOptions({ secret: [S2, S1] });
    const { csrf, data, sealing } = options.keys;
    const all = [
      ...options.signingKeys,
      ...[csrf, data, sealing].flatMap((ring) => ring.keys.map((k) => k.key)),
    ];
    expect(all).toHaveLength(8);
    expect(new Set(all.map((key) => key.toString('hex'))).size).toBe(8);
    expect(options.signingKeys[0].equals(deriveKey(S2, 'token-signing'))).toBe(true);
    expect(csrf.primary.key.equals(deriveKey(S2, 'csrf'))).toBe(true);
    expect(data.primary.key.equals(deriveKey(S2, 'data-encryption'))).toBe(true);
    expect(sealing.primary.key.equals(deriveKey(S2, 'cookie-sealing'))).toBe(true);
  });
});

describe('Keyring', () => {
  it('has the first secret as primary and every secret configured, in order', () => {
    const ring = new Keyring([S2, S1], 'data-encryption');
    expect(ring.keys).toHaveLength(2);
    expect(ring.primary).toBe(ring.keys[0]);
    expect(ring.primary.key.equals(deriveKey(S2, 'data-encryption'))).toBe(true);
    expect(ring.keys[1].key.equals(deriveKey(S1, 'data-encryption'))).toBe(true);
    for (const { id } of ring.keys) {
      expect(id).toMatch(/^[A-Za-z0-9_-]{8}$/);
    }
  });

  it('selects only configured keys by id', () => {
    const ring = new Keyring([S2, S1], 'data-encryption');
    expect(ring.find(ring.keys[0].id)).toBe(ring.keys[0]);
    expect(ring.find(ring.keys[1].id)).toBe(ring.keys[1]);
    const unknown = [
      new Keyring([S3], 'data-encryption').primary.id,
      // The same secret under another purpose is another key.
      new Keyring([S1], 'cookie-sealing').primary.id,
      new Keyring([S1], 'csrf').primary.id,
      '',
      'AAAAAAAA',
      '__proto__',
      'constructor',
      'toString',
      `${ring.keys[0].id} `,
      ring.keys[0].id.toLowerCase() === ring.keys[0].id
        ? 'ZZZZZZZZ'
        : ring.keys[0].id.toLowerCase(),
    ];
    for (const id of unknown) {
      expect(ring.find(id)).toBeUndefined();
    }
  });

  it('an unconfigured key id in a sealed value opens nothing, even with a configured key swapped in', () => {
    const old = new Keyring([S1], 'data-encryption');
    const current = new Keyring([S3], 'data-encryption');
    const sealed = seal('"payload"', old.primary, 'ctx');
    const [, ...rest] = sealed.split('.');
    // The key id names S1's key, which `current` does not have.
    expect(current.find(old.primary.id)).toBeUndefined();
    // Relabelled with the configured key's id, it is selected, but does not open.
    const relabelled = [current.primary.id, ...rest].join('.');
    const selected = current.find(current.primary.id);
    expect(selected).toBe(current.primary);
    expect(open(relabelled, current.primary, 'ctx')).toBeNull();
  });

  it('rotation: new keys seal, old keys still open until removed', () => {
    const before = new Keyring([S1], 'data-encryption');
    const during = new Keyring([S2, S1], 'data-encryption');
    const after = new Keyring([S2], 'data-encryption');
    const sealedBefore = seal('"value"', before.primary, 'ctx');
    const key = during.find(sealedBefore.slice(0, 8));
    expect(key).toBeDefined();
    expect(key).not.toBe(during.primary);
    expect(open(sealedBefore, key!, 'ctx')).toBe('"value"');
    const resealed = seal('"value"', during.primary, 'ctx');
    expect(resealed.slice(0, 8)).toBe(after.primary.id);
    expect(open(resealed, after.find(resealed.slice(0, 8))!, 'ctx')).toBe('"value"');
    expect(after.find(sealedBefore.slice(0, 8))).toBeUndefined();
    expect(open(sealedBefore, after.primary, 'ctx')).toBeNull();
  });
});

describe('signed session tokens', () => {
  const signing = new Keyring([S1], 'token-signing');
  const signingKeys = signing.keys.map(({ key }) => key);

  it('verify with the key that signed them, and report which', () => {
    const token = generateToken();
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(verifySignedToken(signToken(token, signingKeys[0]), signingKeys)).toEqual({
      token,
      id: sessionIdOf(token),
      keyIndex: 0,
    });
  });

  it('rotation: a token signed with the old secret verifies while listed, and not once removed', () => {
    const token = generateToken();
    const signedOld = signToken(token, deriveKey(S1, 'token-signing'));
    const during = [deriveKey(S2, 'token-signing'), deriveKey(S1, 'token-signing')];
    expect(verifySignedToken(signedOld, during)).toEqual({
      token,
      id: sessionIdOf(token),
      keyIndex: 1,
    });
    expect(verifySignedToken(signedOld, [deriveKey(S2, 'token-signing')])).toBeNull();
  });

  it('a token signed with a key of another purpose never verifies', () => {
    const token = generateToken();
    for (const purpose of PURPOSES.filter((p) => p !== 'token-signing')) {
      expect(verifySignedToken(signToken(token, deriveKey(S1, purpose)), signingKeys)).toBeNull();
    }
  });
});
