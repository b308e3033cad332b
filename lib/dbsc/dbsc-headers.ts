import { parseItem, serializeItem, serializeList, Token } from 'structured-headers';

/** The DBSC headers (the `Secure-Session-*` names current browsers use; the older `Sec-Session-*` ones are ignored by them). */
export const DBSC_HEADERS = {
  /** Response: offers registration after login. */
  registration: 'secure-session-registration',
  /** Request: the signed proof (a JWT). */
  response: 'secure-session-response',
  /** Response: a challenge for the next proof. */
  challenge: 'secure-session-challenge',
  /** Request (refresh): the session identifier the browser refreshes. */
  sessionId: 'sec-secure-session-id',
} as const;

const SESSION_IDENTIFIER = /^[A-Za-z0-9_-]{1,64}$/;

/** `Secure-Session-Registration: (ES256);path="…";challenge="…"`: ES256 is the one algorithm offered. */
export function registrationHeader(path: string, challenge: string): string {
  return serializeList([
    [
      [[new Token('ES256'), new Map()]],
      new Map<string, string>([
        ['path', path],
        ['challenge', challenge],
      ]),
    ],
  ]);
}

/** `Secure-Session-Challenge: "<challenge>";id="<session identifier>"`. */
export function challengeHeader(challenge: string, sessionIdentifier: string): string {
  return serializeItem(challenge, new Map([['id', sessionIdentifier]]));
}

/**
 * The session identifier of `Sec-Secure-Session-Id`: a structured-field string (or token), or
 * the bare identifier; `null` when absent or not a well-formed identifier.
 */
export function presentedSessionIdentifier(header: string | undefined): string | null {
  if (header === undefined) {
    return null;
  }
  let value: unknown = header.trim();
  if (header.trim().startsWith('"')) {
    try {
      value = parseItem(header)[0];
    } catch {
      return null;
    }
  }
  if (value instanceof Token) {
    value = value.toString();
  }
  return typeof value === 'string' && SESSION_IDENTIFIER.test(value) ? value : null;
}
