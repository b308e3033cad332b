import { describe, expect, it } from '@jest/globals';
import { parseCookie } from 'cookie';
import fc from 'fast-check';
import { resolveSessionOptions } from '../options/resolve-session-options.js';
import {
  MAX_COOKIE_HEADER_BYTES,
  readSessionCookie,
  serializeClearingCookie,
  serializeSessionCookie,
} from './session-cookie.js';

const SECRET = 'tX9#kQ2!vL7@pR4$wZ8%nB3^mC6&hJ1*';
const NAME = '__Host-sid';
const VALUE = `${'A'.repeat(43)}.${'B'.repeat(43)}`;
const defaults = resolveSessionOptions({ secret: SECRET }).cookie;

describe('readSessionCookie', () => {
  it.each([
    ['no header', undefined],
    ['an empty header', ''],
    ['other cookies only', 'theme=dark; lang=en'],
    ['a longer name that starts with the session name', `${NAME}x=1`],
    ['a name that ends with the session name', `x${NAME}=1`],
    ['the name inside another cookie value', `other=${NAME}`],
    ['the name without =', `${NAME}; theme=dark`],
  ])('is absent for %s', (_label, header) => {
    expect(readSessionCookie(header, NAME)).toEqual({ kind: 'absent' });
  });

  it.each([
    ['alone', `${NAME}=${VALUE}`],
    ['among other cookies', `a=1; ${NAME}=${VALUE}; b=2`],
    ['without spaces', `a=1;${NAME}=${VALUE};b=2`],
    ['with surrounding whitespace', `a=1;   ${NAME}=  ${VALUE}  ; b=2`],
    ['next to the name without =', `${NAME}; ${NAME}=${VALUE}`],
  ])('reads the value %s', (_label, header) => {
    expect(readSessionCookie(header, NAME)).toEqual({ kind: 'value', value: VALUE });
  });

  it.each([
    ['an empty value', `${NAME}=`],
    ['a blank value', `${NAME}=   `],
    ['the name twice', `${NAME}=a; ${NAME}=b`],
    ['the same value twice', `${NAME}=${VALUE}; ${NAME}=${VALUE}`],
    ['the name twice without spaces', `${NAME}=a;${NAME}=b`],
    ['the name twice, one with a space before =', `${NAME}=a; ${NAME} =b`],
    ['a second, empty copy', `${NAME}=${VALUE}; ${NAME}=`],
    ['a header over the size limit', `${NAME}=${'A'.repeat(MAX_COOKIE_HEADER_BYTES)}`],
  ])('is invalid for %s', (_label, header) => {
    expect(readSessionCookie(header, NAME)).toEqual({ kind: 'invalid' });
  });

  it('reads a value of 4096 bytes of cookie header exactly', () => {
    const value = 'A'.repeat(MAX_COOKIE_HEADER_BYTES - NAME.length - 1);
    expect(readSessionCookie(`${NAME}=${value}`, NAME)).toEqual({ kind: 'value', value });
  });

  it('reads a valid session cookie next to unrelated cookies that make the header exceed 4 KiB', () => {
    // Browsers limit each cookie to 4096 bytes, not the Cookie header as a whole.
    const others = Array.from({ length: 4 }, (_, i) => `pref${i}=${'v'.repeat(1200)}`).join('; ');
    expect(readSessionCookie(`${others}; ${NAME}=${VALUE}`, NAME)).toEqual({
      kind: 'value',
      value: VALUE,
    });
  });

  it('works with any cookie name', () => {
    expect(readSessionCookie(`sid=${VALUE}; sidx=1`, 'sid')).toEqual({
      kind: 'value',
      value: VALUE,
    });
  });

  describe('properties', () => {
    const headerText = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 300 }),
      fc
        .array(
          fc.oneof(
            fc.constant(`${NAME}=${VALUE}`),
            fc.constant(NAME),
            fc.constant(`${NAME}=`),
            fc.string({ maxLength: 30 }),
            fc
              .tuple(fc.string({ maxLength: 10 }), fc.string({ maxLength: 30 }))
              .map(([name, value]) => `${name}=${value}`),
          ),
          { maxLength: 8 },
        )
        .chain((parts) =>
          fc.constantFrom(';', '; ', ' ;', ';\t').map((separator) => parts.join(separator)),
        ),
    );

    it('never throws, and always answers absent, invalid or a non-empty value', () => {
      fc.assert(
        fc.property(headerText, (header) => {
          const reading = readSessionCookie(header, NAME);
          expect(['absent', 'invalid', 'value']).toContain(reading.kind);
          if (reading.kind === 'value') {
            expect(reading.value.length).toBeGreaterThan(0);
          }
        }),
        { numRuns: 2000 },
      );
    });

    it('reads as the whole-header parse did (split on `;`, trimStart, then cookie.parseCookie)', () => {
      const wholeHeaderReading = (header: string) => {
        if (header === '' || !header.includes(NAME)) {
          return { kind: 'absent' };
        }
        const pairs = header
          .split(';')
          .map((pair) => pair.trimStart())
          .filter(
            (pair) => pair.startsWith(NAME) && pair.slice(NAME.length).trimStart()[0] === '=',
          );
        if (pairs.length === 0) {
          return { kind: 'absent' };
        }
        const tooLong = pairs.some((pair) => Buffer.byteLength(pair) > MAX_COOKIE_HEADER_BYTES);
        const value = pairs.length === 1 && !tooLong ? parseCookie(header)[NAME] : undefined;
        return value === undefined || value === '' ? { kind: 'invalid' } : { kind: 'value', value };
      };
      const spaced = fc
        .array(
          fc.oneof(
            fc.constant(`${NAME}=${VALUE}`),
            fc.constant(`\t${NAME} =%41${VALUE}`),
            fc.constant(`\n${NAME}="${VALUE}"`),
            fc.constant(`${NAME}x=1`),
            fc.constant(`${NAME}=${'é'.repeat(1400)}`),
            fc.constant(`${NAME}=${'a'.repeat(MAX_COOKIE_HEADER_BYTES)}`),
            fc.string({ maxLength: 12 }),
          ),
          { maxLength: 5 },
        )
        .chain((parts) => fc.constantFrom(';', '; ', ' ;', ';\u00a0').map((s) => parts.join(s)));
      fc.assert(
        fc.property(fc.oneof(headerText, spaced), (header) => {
          expect(readSessionCookie(header, NAME)).toEqual(wholeHeaderReading(header));
        }),
        { numRuns: 3000 },
      );
    });

    it('never yields a value when the session name is set twice', () => {
      fc.assert(
        fc.property(
          fc.array(fc.stringMatching(/^[a-z]{1,8}=[A-Za-z0-9]{0,10}$/), { maxLength: 4 }),
          fc.stringMatching(/^[A-Za-z0-9._-]{1,90}$/),
          fc.stringMatching(/^[A-Za-z0-9._-]{0,90}$/),
          fc.nat(),
          (others, first, second, position) => {
            const parts = [...others];
            parts.splice(position % (parts.length + 1), 0, `${NAME}=${first}`);
            parts.push(`${NAME}=${second}`);
            expect(readSessionCookie(parts.join('; '), NAME)).toEqual({ kind: 'invalid' });
          },
        ),
      );
    });

    it('reads back any single base64url-dotted value among other cookies', () => {
      fc.assert(
        fc.property(
          fc.array(fc.stringMatching(/^[a-z]{1,8}=[A-Za-z0-9]{0,10}$/), { maxLength: 4 }),
          fc.stringMatching(/^[A-Za-z0-9_-]{1,43}(\.[A-Za-z0-9_-]{1,43})?$/),
          fc.nat(),
          (others, value, position) => {
            const parts = [...others];
            parts.splice(position % (parts.length + 1), 0, `${NAME}=${value}`);
            expect(readSessionCookie(parts.join('; '), NAME)).toEqual({ kind: 'value', value });
          },
        ),
      );
    });
  });
});

describe('serializeSessionCookie', () => {
  it('uses the hardened defaults and no Max-Age, Expires or Domain', () => {
    expect(serializeSessionCookie(defaults, VALUE)).toBe(
      `__Host-sid=${VALUE}; Path=/; HttpOnly; Secure; SameSite=Lax`,
    );
  });

  it('adds Max-Age for a persistent cookie', () => {
    expect(serializeSessionCookie(defaults, VALUE, 3600)).toBe(
      `__Host-sid=${VALUE}; Max-Age=3600; Path=/; HttpOnly; Secure; SameSite=Lax`,
    );
  });

  it('carries custom attributes', () => {
    const cookie = resolveSessionOptions({
      secret: SECRET,
      cookie: { name: '__Secure-s', domain: 'example.com', sameSite: 'strict', path: '/app' },
    }).cookie;
    expect(serializeSessionCookie(cookie, VALUE)).toBe(
      `__Secure-s=${VALUE}; Domain=example.com; Path=/app; HttpOnly; Secure; SameSite=Strict`,
    );
  });
});

describe('serializeClearingCookie', () => {
  it('clears with the same name, Path, Domain and flags, and Max-Age=0', () => {
    expect(serializeClearingCookie(defaults)).toBe(
      '__Host-sid=; Max-Age=0; Path=/; HttpOnly; Secure; SameSite=Lax',
    );
    const cookie = resolveSessionOptions({
      secret: SECRET,
      cookie: { name: '__Secure-s', domain: 'example.com', sameSite: 'none' },
    }).cookie;
    expect(serializeClearingCookie(cookie)).toBe(
      '__Secure-s=; Max-Age=0; Domain=example.com; Path=/; HttpOnly; Secure; SameSite=None',
    );
  });
});
