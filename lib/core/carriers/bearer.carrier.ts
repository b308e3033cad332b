import type { SessionExchange } from '../session-exchange.js';
import type { PresentedToken, TokenCarrier } from './token-carrier.js';

const BEARER = /^Bearer ([A-Za-z0-9._-]{1,4096})$/i;
const BEARER_SCHEME = /^bearer(?:\s|$)/i;

/**
 * Response header carrying a bearer token re-signed under the current secret, sent when the
 * request's token was signed by an older one (secret rotation). Clients should replace theirs.
 */
export const REISSUED_TOKEN_HEADER = 'x-session-token';

/**
 * `Authorization: Bearer <token>` for API clients. A new session's token reaches the client
 * through the application (`session.bearerToken`), never through a header it did not ask for.
 */
export class BearerCarrier implements TokenCarrier {
  readonly transport = 'header' as const;

  /** Only a `Bearer` credential is this library's: `Basic`, `Negotiate`… belong to someone else. */
  presentIn(exchange: SessionExchange): boolean {
    return BEARER_SCHEME.test(exchange.header('authorization') ?? '');
  }

  read(exchange: SessionExchange): PresentedToken {
    const value = BEARER.exec(exchange.header('authorization') ?? '')?.[1];
    return value === undefined ? { kind: 'invalid' } : { kind: 'value', value };
  }

  write(exchange: SessionExchange, value: string, _maxAgeSeconds: number, renewed: boolean): void {
    if (renewed) {
      exchange.setHeader(REISSUED_TOKEN_HEADER, value);
    }
  }

  clear(): void {
    // A header token lives in the client's code: there is nothing to clear on the response.
  }
}
