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
  let occurrences = 0;
  let oversized = false;
  for (const pair of header.split(';')) {
    const trimmed = pair.trimStart();
    if (trimmed.startsWith(name) && trimmed.slice(name.length).trimStart().startsWith('=')) {
      occurrences++;
      // The limit is per cookie: other cookies of the site may legitimately fill the header.
      oversized ||= Buffer.byteLength(trimmed) > MAX_COOKIE_HEADER_BYTES;
    }
  }
  if (occurrences === 0) {
    return ABSENT;
  }
  const value = occurrences === 1 && !oversized ? parseCookie(header)[name] : undefined;
  return value === undefined || value === '' ? INVALID : { kind: 'value', value };
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
