import type { SessionExchange } from '../core/session-exchange.js';
import type { SessionRuntime } from '../core/session-runtime.js';
import { originRefusal } from '../csrf/request-origin.js';

/**
 * Why a WebSocket handshake must be refused, or `null` to accept it: the Fetch Metadata and
 * `Origin` layers of the CSRF protection of an unsafe HTTP request (cross-site WebSocket
 * hijacking is CSRF on the upgrade request, and a socket has no CSRF token to send):
 * - `Sec-Fetch-Site: cross-site` is refused; `same-site` only from a `csrf.trustedOrigins` origin;
 * - an `Origin`, when sent, must name the host the handshake was sent to, or be trusted
 *   (`null` is refused).
 * Handshakes authenticated by `Authorization: Bearer` carry no ambient credential and are
 * exempt, as are all handshakes with `csrf: false`.
 */
export function handshakeRefusal(
  exchange: SessionExchange,
  runtime: SessionRuntime,
): string | null {
  const { csrf } = runtime.options;
  if (!csrf.enabled || runtime.carrierFor(exchange)?.transport === 'header') {
    return null;
  }
  return originRefusal((name) => exchange.header(name), csrf.trustedOrigins);
}
