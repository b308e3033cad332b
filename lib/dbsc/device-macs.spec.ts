import { describe, expect, it } from '@jest/globals';
import { Keyring } from '../crypto/keyring.js';
import {
  boundCookieValue,
  challengeIssuedAt,
  isValidBoundCookie,
  issueChallenge,
} from './device-macs.js';

const SECRET = 'tX9#kQ2!vL7@pR4$wZ8%nB3^mC6&hJ1*';
const NEW_SECRET = 'Yq3!Lm8@Zr5#Tw2$Kp9%Vx6^Bn4&Hd7*';
const keys = new Keyring([SECRET], 'device-binding');
const NOW = Date.UTC(2026, 11, 2, 5);

describe('DBSC challenges', () => {
  it('are unique, and tell when they were issued for their purpose and subject only', () => {
    const challenge = issueChallenge(keys, 'refresh', 'binding-1', NOW);
    expect(challenge).not.toBe(issueChallenge(keys, 'refresh', 'binding-1', NOW));
    expect(challengeIssuedAt(keys, challenge, 'refresh', 'binding-1')).toBe(NOW);
    expect(challengeIssuedAt(keys, challenge, 'register', 'binding-1')).toBeNull();
    expect(challengeIssuedAt(keys, challenge, 'refresh', 'binding-2')).toBeNull();
  });

  it('made under another secret, with another purpose key, tampered or malformed, are not ours', () => {
    const challenge = issueChallenge(keys, 'register', 'session', NOW);
    const foreign = issueChallenge(
      new Keyring([NEW_SECRET], 'device-binding'),
      'register',
      'session',
      NOW,
    );
    const otherPurpose = issueChallenge(new Keyring([SECRET], 'csrf'), 'register', 'session', NOW);
    const [, nonce, tag] = challenge.split('.');
    for (const candidate of [
      foreign,
      otherPurpose,
      `${(NOW + 1).toString(36)}.${nonce}.${tag}`,
      `${challenge}x`,
      challenge.replace(/.$/, (last) => (last === 'A' ? 'B' : 'A')),
      '',
      'a.b.c',
    ]) {
      expect(challengeIssuedAt(keys, candidate, 'register', 'session')).toBeNull();
    }
  });

  it('survive a secret rotation: the old secret still verifies once listed second', () => {
    const challenge = issueChallenge(keys, 'refresh', 'b', NOW);
    const rotated = new Keyring([NEW_SECRET, SECRET], 'device-binding');
    expect(challengeIssuedAt(rotated, challenge, 'refresh', 'b')).toBe(NOW);
  });
});

describe('bound cookies', () => {
  it('are valid for their binding until their expiry, and not after', () => {
    const value = boundCookieValue(keys, 'binding-1', NOW + 60_000);
    expect(value).toMatch(/^\d+\.[\w-]{43}$/);
    expect(isValidBoundCookie(keys, value, 'binding-1', NOW)).toBe(true);
    expect(isValidBoundCookie(keys, value, 'binding-1', NOW + 59_999)).toBe(true);
    expect(isValidBoundCookie(keys, value, 'binding-1', NOW + 60_000)).toBe(false);
    expect(isValidBoundCookie(keys, value, 'binding-2', NOW)).toBe(false);
  });

  it('refuse a moved expiry, another key, tampering and garbage', () => {
    const value = boundCookieValue(keys, 'b', NOW + 60_000);
    const [, tag] = value.split('.');
    const later = `${Math.floor((NOW + 3_600_000) / 1000)}.${tag}`;
    const foreign = boundCookieValue(
      new Keyring([NEW_SECRET], 'device-binding'),
      'b',
      NOW + 60_000,
    );
    for (const candidate of [
      later,
      foreign,
      `${value}A`,
      value.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')),
      '',
      undefined,
      '1.2',
    ]) {
      expect(isValidBoundCookie(keys, candidate, 'b', NOW)).toBe(false);
    }
  });
});
