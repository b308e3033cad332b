import { afterEach, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { assertDataKey, decodeValue, encodedSize, encodeValue } from './session-data.codec.js';

const PROTOTYPE_KEYS = ['__proto__', 'constructor', 'prototype'];

function hasPrototypeKey(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) {
    return false;
  }
  return Object.keys(value).some(
    (key) =>
      PROTOTYPE_KEYS.includes(key) || hasPrototypeKey((value as Record<string, unknown>)[key]),
  );
}

/** Own keys anywhere in a decoded value. */
function allKeys(value: unknown): string[] {
  if (typeof value !== 'object' || value === null) {
    return [];
  }
  return Object.keys(value).flatMap((key) => [
    key,
    ...allKeys((value as Record<string, unknown>)[key]),
  ]);
}

afterEach(() => {
  expect(Object.prototype).not.toHaveProperty('polluted');
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
});

describe('assertDataKey', () => {
  it.each(['cart', 'a', 'a'.repeat(128), 'userId', 'roles', '__proto', 'proto__'])(
    'accepts %p',
    (key) => {
      expect(() => assertDataKey(key)).not.toThrow();
    },
  );

  it.each(PROTOTYPE_KEYS)('refuses the reserved key %p, naming it', (key) => {
    expect(() => assertDataKey(key)).toThrow(TypeError);
    expect(() => assertDataKey(key)).toThrow(key);
  });

  it.each([
    ['an empty string', ''],
    ['a key over 128 characters', 'a'.repeat(129)],
    ['a number', 42],
    ['a symbol', Symbol('key')],
    ['undefined', undefined],
    ['null', null],
    ['an object', { toString: () => 'cart' }],
  ])('refuses %s', (_label, key) => {
    expect(() => assertDataKey(key)).toThrow(TypeError);
  });
});

describe('encodeValue', () => {
  it('is JSON', () => {
    expect(encodeValue('k', { a: [1, 'two', null, true] })).toBe('{"a":[1,"two",null,true]}');
    expect(encodeValue('k', 'text')).toBe('"text"');
    expect(encodeValue('k', 0)).toBe('0');
  });

  it.each([
    ['a function', () => 1],
    ['a symbol', Symbol('s')],
    ['undefined', undefined],
    ['a BigInt', BigInt(1)],
    [
      'a circular object',
      (() => {
        const value: Record<string, unknown> = {};
        value.self = value;
        return value;
      })(),
    ],
  ])('throws a TypeError naming the key for %s', (_label, value) => {
    expect(() => encodeValue('myKey', value)).toThrow(TypeError);
    expect(() => encodeValue('myKey', value)).toThrow("'myKey'");
  });
});

describe('decodeValue', () => {
  it('parses JSON', () => {
    expect(decodeValue('{"a":[1,"two",null,true]}')).toEqual({ a: [1, 'two', null, true] });
    expect(decodeValue('"text"')).toBe('text');
  });

  it.each(['', '{', 'undefined', "{'a':1}", '\u0000', 'NaN'])(
    'reads unparseable text %p as undefined, without throwing',
    (text) => {
      expect(decodeValue(text)).toBeUndefined();
    },
  );

  it('drops __proto__, constructor and prototype keys at any depth', () => {
    const decoded = decodeValue(
      '{"__proto__":{"polluted":true},"a":{"constructor":{"prototype":{"polluted":true}},"b":[{"__proto__":{"polluted":true},"c":1}]},"prototype":{"polluted":true}}',
    ) as Record<string, unknown>;
    expect(decoded).toEqual({ a: { b: [{ c: 1 }] } });
    expect(allKeys(decoded)).toEqual(['a', 'b', '0', 'c']);
    expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype);
    expect(decoded.polluted).toBeUndefined();
  });

  it('drops prototype keys written with whitespace before the colon', () => {
    const decoded = decodeValue('{"__proto__" \n : {"polluted": true}, "a": 1}');
    expect(decoded).toEqual({ a: 1 });
    expect(allKeys(decoded)).toEqual(['a']);
  });

  it.each([
    ['__proto__', '{"\\u005f_proto__":{"polluted":true},"a":1}'],
    ['constructor', '{"\\u0063onstructor":{"polluted":true},"a":1}'],
    ['prototype', '{"a":1,"prot\\u006ftype":{"polluted":true}}'],
  ])('drops %s spelled with a JSON unicode escape', (_key, text) => {
    // JSON.parse reads "\u005f_proto__" as "__proto__": a tampered store can spell it so.
    const decoded = decodeValue(text);
    expect(allKeys(decoded)).toEqual(['a']);
  });

  it('does not drop prototype-like words in values', () => {
    expect(decodeValue('{"a":"__proto__","b":["constructor","prototype"]}')).toEqual({
      a: '__proto__',
      b: ['constructor', 'prototype'],
    });
  });

  describe('properties', () => {
    it('round-trips any JSON value that has no prototype keys', () => {
      fc.assert(
        fc.property(fc.jsonValue(), (value) => {
          fc.pre(!hasPrototypeKey(value));
          expect(decodeValue(encodeValue('k', value))).toEqual(JSON.parse(JSON.stringify(value)));
        }),
        { numRuns: 500 },
      );
    });

    it('never throws for arbitrary text and never yields prototype keys', () => {
      fc.assert(
        fc.property(
          fc.oneof(
            fc.string({ unit: 'binary', maxLength: 200 }),
            fc.json(),
            fc
              .dictionary(
                fc.constantFrom('__proto__', 'constructor', 'prototype', 'a', 'b'),
                fc.jsonValue({ maxDepth: 2 }),
              )
              .map((value) => JSON.stringify(value)),
          ),
          (text) => {
            const decoded = decodeValue(text);
            expect(allKeys(decoded).filter((key) => PROTOTYPE_KEYS.includes(key))).toEqual([]);
          },
        ),
        { numRuns: 1000 },
      );
    });
  });
});

describe('encodedSize', () => {
  it('sums the UTF-8 bytes of keys and values', () => {
    expect(encodedSize({})).toBe(0);
    expect(encodedSize({ a: '1', bc: '"xy"' })).toBe(1 + 1 + 2 + 4);
    expect(encodedSize({ é: '"€"' })).toBe(2 + 5);
  });
});
