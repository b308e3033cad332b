import { describe, expect, it } from '@jest/globals';
import { Keyring } from './keyring.js';
import { generateToken } from './session-token.js';
import { openSuccessor, sealSuccessor } from './successor-token.js';

const SECRET = 'tX9#kQ2!vL7@pR4$wZ8%nB3^mC6&hJ1*';
const OTHER = 'Yq3!Lm8@Zr5#Tw2$Kp9%Vx6^Bn4&Hd7*';

describe('successor tokens (the sealed new token in a rotation tombstone)', () => {
  const keys = new Keyring([SECRET], 'data-encryption');
  const replacedToken = generateToken();
  const successor = generateToken();
  const sealed = sealSuccessor(keys, 'old-id', replacedToken, successor);

  it('opens with the replaced token, and shows neither token in what the store keeps', () => {
    expect(openSuccessor(keys, 'old-id', replacedToken, sealed)).toBe(successor);
    expect(sealed).not.toContain(successor);
    expect(sealed).not.toContain(replacedToken);
    expect(sealSuccessor(keys, 'old-id', replacedToken, successor)).not.toBe(sealed);
  });

  it('opens with nothing else: another token, another id, another secret, a tampered value', () => {
    expect(openSuccessor(keys, 'old-id', generateToken(), sealed)).toBeNull();
    expect(openSuccessor(keys, 'other-id', replacedToken, sealed)).toBeNull();
    expect(
      openSuccessor(new Keyring([OTHER], 'data-encryption'), 'old-id', replacedToken, sealed),
    ).toBeNull();
    // A key made for another purpose from the same secret opens nothing either.
    expect(
      openSuccessor(new Keyring([SECRET], 'csrf'), 'old-id', replacedToken, sealed),
    ).toBeNull();
    // Change the third character from the end to another one (whatever it is now).
    const flipped = `${sealed.slice(0, -3)}${sealed.at(-3) === 'A' ? 'B' : 'A'}${sealed.slice(-2)}`;
    for (const forged of [flipped, sealed.slice(0, -1), `${sealed}x`, '', 'not.sealed.at.all']) {
      expect(openSuccessor(keys, 'old-id', replacedToken, forged)).toBeNull();
    }
  });

  it('still opens after a secret rotation (the old secret listed second)', () => {
    const rotated = new Keyring([OTHER, SECRET], 'data-encryption');
    expect(openSuccessor(rotated, 'old-id', replacedToken, sealed)).toBe(successor);
  });
});
