import { describe, expect, it } from '@jest/globals';
import { createHmac, generateKeyPairSync, sign } from 'node:crypto';
import {
  DeviceProofError,
  parseDeviceProof,
  publicJwkOf,
  verifyDeviceProof,
  type DeviceProofFailure,
} from './device-proof.js';

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

function keyPair() {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { privateKey, jwk: publicKey.export({ format: 'jwk' }) as Record<string, string> };
}

const device = keyPair();

function jwt(
  header: object,
  payload: object,
  key = device.privateKey,
  dsaEncoding: 'ieee-p1363' | 'der' = 'ieee-p1363',
) {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${sign('sha256', Buffer.from(input), { key, dsaEncoding }).toString('base64url')}`;
}

const registration = (header: object = {}, payload: object = { jti: 'challenge' }) =>
  jwt({ alg: 'ES256', typ: 'dbsc+jwt', jwk: device.jwk, ...header }, payload);

function failure(run: () => unknown): DeviceProofFailure | 'none' {
  try {
    run();
    return 'none';
  } catch (error) {
    expect(error).toBeInstanceOf(DeviceProofError);
    expect((error as Error).message).not.toContain('challenge');
    return (error as DeviceProofError).reason;
  }
}

describe('parseDeviceProof and verifyDeviceProof', () => {
  it('accepts a registration proof as Chromium sends it, and keeps only the public coordinates', () => {
    const proof = parseDeviceProof(registration());
    expect(proof.challenge).toBe('challenge');
    expect(proof.jwk).toEqual({ kty: 'EC', crv: 'P-256', x: device.jwk.x, y: device.jwk.y });
    expect(failure(() => verifyDeviceProof(proof, proof.jwk!))).toBe('none');
  });

  it('accepts a refresh proof without jwk, verified with the registered key', () => {
    const proof = parseDeviceProof(jwt({ alg: 'ES256', typ: 'dbsc+jwt' }, { jti: 'next' }));
    expect(proof.jwk).toBeNull();
    expect(failure(() => verifyDeviceProof(proof, publicJwkOf(device.jwk)))).toBe('none');
    const other = publicJwkOf(keyPair().jwk);
    expect(failure(() => verifyDeviceProof(proof, other))).toBe('bad-signature');
  });

  const refusals: Array<[string, () => string, DeviceProofFailure]> = [
    [
      'alg none',
      () => `${b64({ alg: 'none', typ: 'dbsc+jwt' })}.${b64({ jti: 'c' })}.`,
      'malformed',
    ],
    [
      'alg none with a signature',
      () => jwt({ alg: 'none', typ: 'dbsc+jwt' }, { jti: 'c' }),
      'unsupported',
    ],
    [
      'HS256 keyed with the public key',
      () => {
        const input = `${b64({ alg: 'HS256', typ: 'dbsc+jwt' })}.${b64({ jti: 'c' })}`;
        return `${input}.${createHmac('sha256', JSON.stringify(device.jwk)).update(input).digest('base64url')}`;
      },
      'unsupported',
    ],
    ['RS256', () => jwt({ alg: 'RS256', typ: 'dbsc+jwt' }, { jti: 'c' }), 'unsupported'],
    ['ES384', () => jwt({ alg: 'ES384', typ: 'dbsc+jwt' }, { jti: 'c' }), 'unsupported'],
    ['lower-case es256', () => jwt({ alg: 'es256', typ: 'dbsc+jwt' }, { jti: 'c' }), 'unsupported'],
    ['typ JWT', () => jwt({ alg: 'ES256', typ: 'JWT' }, { jti: 'c' }), 'unsupported'],
    ['no typ', () => jwt({ alg: 'ES256' }, { jti: 'c' }), 'unsupported'],
    [
      'a crit extension',
      () => jwt({ alg: 'ES256', typ: 'dbsc+jwt', crit: ['x'] }, { jti: 'c' }),
      'unsupported',
    ],
    ['no jti', () => registration({}, {}), 'malformed'],
    ['a numeric jti', () => registration({}, { jti: 1 }), 'malformed'],
    ['an empty jti', () => registration({}, { jti: '' }), 'malformed'],
    [
      'a DER signature',
      () => jwt({ alg: 'ES256', typ: 'dbsc+jwt' }, { jti: 'c' }, device.privateKey, 'der'),
      'bad-signature',
    ],
    ['two parts', () => 'a.b', 'malformed'],
    ['four parts', () => `${registration()}.x`, 'malformed'],
    ['non-base64url characters', () => registration().replace('.', '+.'), 'malformed'],
    [
      'a header that is not JSON',
      () => `${Buffer.from('{').toString('base64url')}.${b64({ jti: 'c' })}.AAAA`,
      'malformed',
    ],
    ['a JSON array header', () => `${b64([1])}.${b64({ jti: 'c' })}.AAAA`, 'malformed'],
    [
      'a JSON null payload',
      () => `${b64({ alg: 'ES256', typ: 'dbsc+jwt' })}.${b64(null)}.AAAA`,
      'malformed',
    ],
    ['an oversized proof', () => registration({}, { jti: 'x'.repeat(5000) }), 'malformed'],
    ['an empty value', () => '', 'malformed'],
  ];

  it.each(refusals)('refuses %s', (_name, make, reason) => {
    expect(failure(() => parseDeviceProof(make()))).toBe(reason);
  });

  it('refuses a missing header', () => {
    expect(failure(() => parseDeviceProof(undefined))).toBe('malformed');
  });

  it('refuses a registration key that is not a P-256 public key', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({
      format: 'jwk',
    });
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({
      format: 'jwk',
    });
    const withPrivate = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
      format: 'jwk',
    });
    for (const jwk of [
      rsa,
      p384,
      withPrivate,
      { ...device.jwk, crv: 'P-384' },
      { ...device.jwk, y: device.jwk.x }, // not on the curve
      { ...device.jwk, x: 'short' },
      { kty: 'oct', k: 'AAAA' },
      'a string',
      null,
      [device.jwk],
    ]) {
      expect(failure(() => parseDeviceProof(registration({ jwk })))).toBe('bad-key');
    }
  });

  it('refuses a tampered payload or signature', () => {
    const [header, , signature] = registration().split('.');
    const tampered = `${header}.${b64({ jti: 'other' })}.${signature}`;
    const proof = parseDeviceProof(tampered);
    expect(failure(() => verifyDeviceProof(proof, proof.jwk!))).toBe('bad-signature');
    // The signature's first character carries six bits of its first byte (the last one only
    // two, and four bits of padding a decoder ignores): change it to change the signature.
    const [h, p, s] = registration().split('.');
    const flipped = `${h}.${p}.${s[0] === 'A' ? 'B' : 'A'}${s.slice(1)}`;
    const flippedProof = parseDeviceProof(flipped);
    expect(failure(() => verifyDeviceProof(flippedProof, flippedProof.jwk!))).toBe('bad-signature');
  });
});
