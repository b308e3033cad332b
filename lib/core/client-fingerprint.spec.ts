import { describe, expect, it } from '@jest/globals';
import { Keyring } from '../crypto/keyring.js';
import {
  agentOf,
  asClientFingerprint,
  networkHash,
  networkOf,
  sameNetwork,
} from './client-fingerprint.js';

const CHROME =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const SECRET_A = 'tX9#kQ2!vL7@pR4$wZ8%nB3^mC6&hJ1*';
const SECRET_B = 'Yq3!Lm8@Zr5#Tw2$Kp9%Vx6^Bn4&Hd7*';

describe('agentOf: browser family and major version', () => {
  it.each([
    [CHROME, 'chrome/131'],
    [`${CHROME} Edg/131.0.2903.86`, 'edge/131'],
    [`${CHROME} OPR/115.0.0.0`, 'opera/115'],
    [
      'Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36',
      'samsung/26',
    ],
    ['Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0', 'firefox/133'],
    [
      'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1.1 Safari/605.1.15',
      'safari/18',
    ],
    [
      'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
      'safari/18',
    ],
    [
      'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1',
      'chrome/131',
    ],
    [
      'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/133.0 Mobile/15E148 Safari/605.1.15',
      'firefox/133',
    ],
    [
      'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36',
      'chrome/156',
    ],
  ])('%s → %s', (userAgent, expected) => {
    expect(agentOf(userAgent)).toBe(expected);
  });

  it('agents that are not a known browser have no family (never compared)', () => {
    for (const agent of [undefined, '', 'curl/8.5.0', 'jest-agent', 'node-superagent/3.8.3']) {
      expect(agentOf(agent)).toBeNull();
    }
  });

  it('a minor update keeps the fingerprint; a major one changes it', () => {
    expect(agentOf(CHROME.replace('131.0.0.0', '131.0.6778.86'))).toBe('chrome/131');
    expect(agentOf(CHROME.replace('131.0.0.0', '132.0.0.0'))).toBe('chrome/132');
  });

  it('only the start of a huge header is read', () => {
    expect(agentOf(`${'x'.repeat(600)} Firefox/133.0`)).toBeNull();
  });
});

describe('networkOf: IPv4 /24, IPv6 /64', () => {
  it.each([
    ['203.0.113.7', 'v4:203.0.113'],
    ['203.0.113.254', 'v4:203.0.113'],
    ['::ffff:203.0.113.7', 'v4:203.0.113'],
    ['2001:db8:85a3:42:8a2e:370:7334:1', 'v6:2001:db8:85a3:42'],
    ['2001:0db8:85a3:0042:1111:2222:3333:4444', 'v6:2001:db8:85a3:42'],
    ['2001:db8::1', 'v6:2001:db8:0:0'],
    ['[2001:db8:1:2::9]', 'v6:2001:db8:1:2'],
    ['fe80::1%eth0', 'v6:fe80:0:0:0'],
    ['::1', 'v6:0:0:0:0'],
  ])('%s → %s', (address, expected) => {
    expect(networkOf(address)).toBe(expected);
  });

  it('anything that is not an address has no network', () => {
    for (const address of [undefined, '', 'localhost', '203.0.113', '1.2.3.4.5', '::1.2.3.4']) {
      expect(networkOf(address)).toBeNull();
    }
  });
});

describe('network hashes', () => {
  const keys = new Keyring([SECRET_A], 'client-network');

  it('are keyed and reveal no address', () => {
    const hash = networkHash('v4:203.0.113', keys);
    expect(hash).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(hash).not.toContain('203');
    expect(networkHash('v4:203.0.113', new Keyring([SECRET_B], 'client-network'))).not.toBe(hash);
    expect(sameNetwork(hash, 'v4:203.0.113', keys)).toBe(true);
    expect(sameNetwork(hash, 'v4:203.0.114', keys)).toBe(false);
  });

  it('still match after a secret rotation (any configured key), and never when malformed', () => {
    const hash = networkHash('v6:2001:db8:0:1', new Keyring([SECRET_A], 'client-network'));
    const rotated = new Keyring([SECRET_B, SECRET_A], 'client-network');
    expect(sameNetwork(hash, 'v6:2001:db8:0:1', rotated)).toBe(true);
    expect(sameNetwork('', 'v6:2001:db8:0:1', rotated)).toBe(false);
    expect(sameNetwork('short', 'v6:2001:db8:0:1', rotated)).toBe(false);
  });
});

describe('asClientFingerprint', () => {
  it('accepts the stored shape only', () => {
    const good = { agent: 'chrome/131', network: null, stepUp: true };
    expect(asClientFingerprint(good)).toEqual(good);
    expect(asClientFingerprint({ agent: 1, network: null, stepUp: false })).toBeNull();
    expect(asClientFingerprint({ agent: null, network: null })).toBeNull();
    expect(asClientFingerprint('chrome/131')).toBeNull();
    expect(asClientFingerprint(null)).toBeNull();
  });
});
