import { parseCookie, stringifySetCookie } from 'cookie';
import type { ResolvedSessionOptions } from '../options/resolve-session-options.js';

/** Browsers keep at most 4 KiB per cookie (name, value and attributes); a longer one is hostile or broken. */
export const MAX_COOKIE_HEADER_BYTES = 4096;

/** What the request's `Cookie` header says about the session cookie. */
export type SessionCookieReading =
  | { kind: 'absent' }
  | { kind: 'value'; value: string }
  /** Present but unusable: oversized, duplicated name (cookie tossing), undecodable. */
  | { kind: 'invalid' };

const ABSENT: SessionCookieReading = { kind: 'absent' };
const INVALID: SessionCookieReading = { kind: 'invalid' };

/**
 * Reads the session cookie. Two cookies of the same name — one planted by a sibling subdomain
 * or an insecure origin ("cookie tossing") — make the reading invalid rather than letting the
 * first one win, since the browser's order is not a trust decision.
 */
export function readSessionCookie(header: string | undefined, name: string): SessionCookieReading {
  if (header === undefined || header === '' || !header.includes(name)) {
    return ABSENT;
  }
  // One pass over the pairs, with no array of them and no parse of the others.
  let occurrences = 0;
  let oversized = false;
  let found = -1;
  let foundEnd = -1;
  for (let start = 0; start <= header.length;) {
    const semicolon = header.indexOf(';', start);
    const end = semicolon === -1 ? header.length : semicolon;
    const pair = skipWhitespace(header, start, end);
    if (
      header.startsWith(name, pair) &&
      header.charCodeAt(skipWhitespace(header, pair + name.length, end)) === EQUALS
    ) {
      occurrences++;
      found = start;
      foundEnd = end;
      // The limit is per cookie: other cookies of the site may legitimately fill the header.
      oversized ||= byteLengthOver(header, pair, end, MAX_COOKIE_HEADER_BYTES);
    }
    start = end + 1;
  }
  if (occurrences === 0) {
    return ABSENT;
  }
  // The one pair parsed as `cookie` parses a whole header (a pair with no `=` names nothing).
  const value =
    occurrences === 1 && !oversized ? parseCookie(header.slice(found, foundEnd))[name] : undefined;
  return value === undefined || value === '' ? INVALID : { kind: 'value', value };
}

const EQUALS = 0x3d;
const WHITESPACE = /\s/;

/** The first index from `from` (before `end`) that is not whitespace (as `trimStart` sees it). */
function skipWhitespace(text: string, from: number, end: number): number {
  let index = from;
  while (index < end && WHITESPACE.test(text[index])) {
    index++;
  }
  return index;
}

/** Whether `text.slice(from, end)` is longer than `limit` bytes in UTF-8. */
function byteLengthOver(text: string, from: number, end: number, limit: number): boolean {
  const chars = end - from;
  // UTF-8 takes 1 to 3 bytes per UTF-16 unit: count only when the bound cannot tell.
  if (chars > limit) {
    return true;
  }
  return chars * 3 > limit && Buffer.byteLength(text.slice(from, end)) > limit;
}

/** `Set-Cookie` value that carries a signed token. */
export function serializeSessionCookie(
  cookie: ResolvedSessionOptions['cookie'],
  value: string,
  maxAgeSeconds?: number,
): string {
  return stringifySetCookie({
    name: cookie.name,
    value,
    path: cookie.path,
    domain: cookie.domain,
    secure: cookie.secure,
    httpOnly: cookie.httpOnly,
    sameSite: cookie.sameSite,
    maxAge: maxAgeSeconds,
  });
}

/** `Set-Cookie` value that deletes the session cookie: same name, path and flags, `Max-Age=0`. */
export function serializeClearingCookie(cookie: ResolvedSessionOptions['cookie']): string {
  return serializeSessionCookie(cookie, '', 0);
}

/** The cookie name without its `__Host-` / `__Secure-` prefix, which plain HTTP cannot keep. */
export function unprefixed(name: string): string {
  return name.replace(/^__(?:Host|Secure)-/, '') || 'sid';
}
