import { describe, expect, it } from '@jest/globals';
import { challengeHeader, presentedSessionIdentifier, registrationHeader } from './dbsc-headers.js';

describe('DBSC headers', () => {
  it('serialises the registration offer and the challenge as structured fields', () => {
    expect(registrationHeader('/session/dbsc/register', 'abc.def')).toBe(
      '(ES256);path="/session/dbsc/register";challenge="abc.def"',
    );
    expect(challengeHeader('abc.def', 'id_1-x')).toBe('"abc.def";id="id_1-x"');
  });

  it('escapes what a structured string must escape', () => {
    expect(registrationHeader('/a"b\\c', 'c')).toBe('(ES256);path="/a\\"b\\\\c";challenge="c"');
  });

  it.each([
    ['"AbC_12-x"', 'AbC_12-x'],
    ['AbC_12-x', 'AbC_12-x'],
    ['  "AbC"  ', 'AbC'],
    ['"AbC";p=1', 'AbC'],
    ['"bad id"', null],
    ['"unterminated', null],
    ['"a\\"b"', null],
    ['', null],
    ['a b', null],
    [`"${'a'.repeat(65)}"`, null],
    [undefined, null],
  ])('reads Sec-Secure-Session-Id %p as %p', (header, expected) => {
    expect(presentedSessionIdentifier(header)).toBe(expected);
  });
});
