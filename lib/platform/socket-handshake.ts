import type { SessionExchange } from '../core/session-exchange.js';
import type { SessionRuntime } from '../core/session-runtime.js';

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
  const origin = exchange.header('origin');
  const fetchSite = exchange.header('sec-fetch-site');
  const trusted = origin !== undefined && csrf.trustedOrigins.has(origin);
  if (fetchSite === 'cross-site' || (fetchSite === 'same-site' && !trusted)) {
    return `Cross-site WebSocket handshake refused (Sec-Fetch-Site: ${fetchSite})`;
  }
  if (origin !== undefined && !trusted && !isOwnOrigin(origin, exchange.header('host'))) {
    return 'WebSocket handshake from an untrusted origin refused';
  }
  return null;
}

/** Whether the origin names the host the request was sent to. */
function isOwnOrigin(origin: string, host: string | undefined): boolean {
  if (origin === 'null' || host === undefined) {
    return false;
  }
  try {
    return new URL(origin).host === host.toLowerCase();
  } catch {
    return false;
  }
}
