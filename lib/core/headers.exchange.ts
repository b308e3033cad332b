import type { SessionExchange } from './session-exchange.js';

/** Request headers as plain data: node's `IncomingHttpHeaders`, a gRPC metadata map turned into an object… */
export type PlainHeaders = Readonly<Record<string, string | readonly string[] | undefined>>;

/**
 * A request known only by its headers, with no response: a WebSocket message (the upgrade
 * request's headers), a microservice call, a custom transport. Nothing can be sent back, so
 * nothing is saved unless the caller commits.
 */
export class HeadersExchange implements SessionExchange {
  readonly respondable = false;
  private readonly headers = new Map<string, string>();

  /**
   * @param presentedAt when the headers were sent, for a handshake whose headers serve later
   *   messages (see `SessionExchange.presentedAt`); omit for a request handled now.
   */
  constructor(
    headers: PlainHeaders,
    readonly presentedAt?: number,
  ) {
    for (const [name, value] of Object.entries(headers)) {
      const first = typeof value === 'string' ? value : value?.[0];
      if (first !== undefined && !this.headers.has(name.toLowerCase())) {
        this.headers.set(name.toLowerCase(), first);
      }
    }
  }

  header(name: string): string | undefined {
    return this.headers.get(name);
  }

  setCookie(): void {
    // No response to carry a cookie.
  }

  setHeader(): void {
    // No response to carry a header.
  }

  commitBeforeSend(): void {
    // The caller commits, if it wants the changes saved.
  }
}
