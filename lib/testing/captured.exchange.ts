import type { PlainHeaders } from '../core/headers.exchange.js';
import type { SessionExchange } from '../core/session-exchange.js';

/**
 * A response that is never sent: it keeps what the session core puts on it (the `Set-Cookie`,
 * a header) for the caller to hand to a test client. The caller commits the session itself.
 */
export class CapturedExchange implements SessionExchange {
  readonly respondable = true;
  /** The last `Set-Cookie` per cookie name. */
  readonly cookies = new Map<string, string>();

  constructor(private readonly headers: PlainHeaders) {}

  header(name: string): string | undefined {
    const value = this.headers[name];
    return typeof value === 'string' ? value : value?.[0];
  }

  setCookie(name: string, setCookie: string): void {
    this.cookies.set(name, setCookie);
  }

  setHeader(): void {
    // A new session's token reaches the caller through the session itself, not a header.
  }

  commitBeforeSend(): void {
    // Nothing is sent: the caller commits.
  }
}
