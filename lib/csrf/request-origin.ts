/** Origins other than the app's own that may send state-changing requests (`csrf.trustedOrigins`). */
export type TrustedOrigins = ReadonlySet<string>;

/**
 * Why a request (an unsafe HTTP request, a WebSocket or subscription handshake) must not use
 * the session cookie because of where it came from, or `null` when its origin is fine:
 * `Sec-Fetch-Site: cross-site` is refused, `same-site` only from a trusted origin, and a sent
 * `Origin` must be the app's own host or trusted (`null` never is).
 */
export function originRefusal(
  header: (name: string) => string | undefined,
  trustedOrigins: TrustedOrigins,
): string | null {
  const origin = header('origin');
  const fetchSite = header('sec-fetch-site');
  const trusted = origin !== undefined && trustedOrigins.has(origin);
  if (fetchSite === 'cross-site' || (fetchSite === 'same-site' && !trusted)) {
    return `Cross-site request refused (Sec-Fetch-Site: ${fetchSite})`;
  }
  if (origin !== undefined && !trusted && !isOwnOrigin(origin, header('host'))) {
    return 'Request from an untrusted origin refused';
  }
  return null;
}

/** Whether `origin` names the host the request was sent to. */
export function isOwnOrigin(origin: string, host: string | undefined): boolean {
  if (origin === 'null' || host === undefined) {
    return false;
  }
  try {
    return new URL(origin).host === host.toLowerCase();
  } catch {
    return false;
  }
}
