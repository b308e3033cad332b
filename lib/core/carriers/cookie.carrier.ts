import {
  MAX_COOKIE_HEADER_BYTES,
  readSessionCookie,
  serializeClearingCookie,
  serializeSessionCookie,
  unprefixed,
} from '../../cookie/session-cookie.js';
import { Logger } from '@nestjs/common';
import type { ResolvedSessionOptions } from '../../options/resolve-session-options.js';
import type { SessionExchange } from '../session-exchange.js';
import { SessionCookieTooLargeError } from '../session.errors.js';
import type { PresentedToken, TokenCarrier } from './token-carrier.js';

/** The session cookie: hardened attributes, one cookie per response, cleared when refused. */
export class CookieCarrier implements TokenCarrier {
  readonly transport = 'cookie' as const;
  private warnedInsecure = false;

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
    this.warnIfDropped(exchange);
  }

  /**
   * A `Secure` cookie set over plain HTTP on a host the browser does not treat as secure (all
   * but localhost and loopback) is silently dropped: the page says "ok" and nobody is logged
   * in. Say so, once, with the fix.
   */
  private warnIfDropped(exchange: SessionExchange): void {
    const origin = exchange.clientOrigin?.();
    if (this.warnedInsecure || !this.cookie.secure || origin === undefined || origin.secure) {
      return;
    }
    if (isPotentiallyTrustworthy(origin.hostname)) {
      return;
    }
    this.warnedInsecure = true;
    logger.warn(
      `The Secure session cookie was set on a plain-HTTP request to '${origin.hostname}': browsers drop it there, so nobody stays logged in. ` +
        "Serve over HTTPS; behind a TLS-terminating proxy, enable the platform's trust proxy setting (Express 'trust proxy', Fastify trustProxy) so X-Forwarded-Proto counts; " +
        `for development over plain HTTP use cookie: { secure: false, name: '${unprefixed(this.cookie.name)}' } (see "Development over plain HTTP" in the README)`,
    );
  }

  clear(exchange: SessionExchange): void {
    exchange.setCookie(this.cookie.name, serializeClearingCookie(this.cookie));
  }
}

const logger = new Logger('SessionModule');
const LOOPBACK_V4 = /^127(?:\.\d{1,3}){3}$/;

/** Hosts on which browsers accept `Secure` cookies over plain HTTP (the "potentially trustworthy" ones). */
function isPotentiallyTrustworthy(hostname: string): boolean {
  const host = hostname.toLowerCase();
  return (
    host === 'localhost' ||
    host.endsWith('.localhost') ||
    LOOPBACK_V4.test(host) ||
    host === '[::1]' ||
    host === '::1'
  );
}
