import {
  MAX_COOKIE_HEADER_BYTES,
  readSessionCookie,
  serializeClearingCookie,
  serializeSessionCookie,
} from '../../cookie/session-cookie.js';
import type { ResolvedSessionOptions } from '../../options/resolve-session-options.js';
import type { SessionExchange } from '../session-exchange.js';
import { SessionCookieTooLargeError } from '../session.errors.js';
import type { PresentedToken, TokenCarrier } from './token-carrier.js';

/** The session cookie: hardened attributes, one cookie per response, cleared when refused. */
export class CookieCarrier implements TokenCarrier {
  readonly transport = 'cookie' as const;

  constructor(private readonly cookie: ResolvedSessionOptions['cookie']) {}

  presentIn(): boolean {
    return true;
  }

  read(exchange: SessionExchange): PresentedToken {
    return readSessionCookie(exchange.header('cookie'), this.cookie.name);
  }

  write(exchange: SessionExchange, value: string, maxAgeSeconds: number): void {
    const maxAge = this.cookie.persistent ? maxAgeSeconds : undefined;
    const setCookie = serializeSessionCookie(this.cookie, value, maxAge);
    const size = Buffer.byteLength(setCookie);
    if (size > MAX_COOKIE_HEADER_BYTES) {
      // Browsers drop a larger cookie silently: fail the request instead of losing the session.
      throw new SessionCookieTooLargeError(size, MAX_COOKIE_HEADER_BYTES);
    }
    exchange.setCookie(this.cookie.name, setCookie);
  }

  clear(exchange: SessionExchange): void {
    exchange.setCookie(this.cookie.name, serializeClearingCookie(this.cookie));
  }
}
