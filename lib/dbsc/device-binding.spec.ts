import { describe, expect, it } from '@jest/globals';
import { generateKeyPairSync } from 'node:crypto';
import { bindingIdOf, decodeBinding, encodeBinding, newBinding } from './device-binding.js';
import { publicJwkOf } from './device-proof.js';

const key = publicJwkOf(
  generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' }),
);

describe('device bindings', () => {
  it('round-trip through their stored form, with a random identifier', () => {
    const binding = newBinding(key, 1234);
    expect(binding.id).toMatch(/^[\w-]{22}$/);
    expect(newBinding(key, 1234).id).not.toBe(binding.id);
    const stored = encodeBinding(binding);
    expect(decodeBinding(stored)).toEqual(binding);
    expect(bindingIdOf(stored)).toBe(binding.id);
  });

  it('none is null; anything unreadable is corrupt (never unbound)', () => {
    expect(decodeBinding(null)).toBeNull();
    expect(decodeBinding(undefined)).toBeNull();
    expect(bindingIdOf(null)).toBeNull();
    const stored = JSON.parse(encodeBinding(newBinding(key, 1))) as Record<string, unknown>;
    for (const broken of [
      '',
      '{',
      'null',
      JSON.stringify({ ...stored, v: 2 }),
      JSON.stringify({ ...stored, id: 'short' }),
      JSON.stringify({ ...stored, used: 'soon' }),
      JSON.stringify({ ...stored, key: { kty: 'EC', crv: 'P-256', x: 'a', y: 'b' } }),
    ]) {
      expect(decodeBinding(broken)).toBe('corrupt');
    }
    expect(bindingIdOf('{')).toBe('corrupt');
    expect(bindingIdOf('{"id":1}')).toBe('corrupt');
  });
});
