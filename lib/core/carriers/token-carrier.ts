import type { SessionCookieReading } from '../../cookie/session-cookie.js';
import type { SessionTransport } from '../../interfaces/session-module-options.interface.js';
import type { SessionExchange } from '../session-exchange.js';

/**
 * What a request presented in a carrier: nothing, a value, or something unusable (malformed,
 * oversized, duplicated), which is refused and, where the carrier can, cleared.
 */
export type PresentedToken = SessionCookieReading;

/**
 * Where the session token travels between client and server: a cookie, or the `Authorization`
 * header. A carrier reads what the request presented and hands the client a new value; it
 * neither verifies nor stores anything.
 */
export interface TokenCarrier {
  readonly transport: SessionTransport;
  /** Whether the request carries something in this carrier. */
  presentIn(exchange: SessionExchange): boolean;
  read(exchange: SessionExchange): PresentedToken;
  /**
   * Hands the client the session's value. `renewed` is `true` when the client presented an
   * older form of the same session (a secret rotation): header clients can only learn of it here.
   */
  write(exchange: SessionExchange, value: string, maxAgeSeconds: number, renewed: boolean): void;
  /** Tells the client to forget its value. */
  clear(exchange: SessionExchange): void;
}
