/** `Cache-Control` of every response that carries or reveals a session: no cache may keep it. */
export const PRIVATE_NO_STORE = 'private, no-store';

/**
 * What the session core needs from one request/response, whatever the platform: the request's
 * headers, a place to put response headers, and a promise that the session is saved before the
 * response leaves. Each platform adapter (Express, Fastify, WebSockets) implements it; nothing
 * else in the core knows a request object.
 */
export interface SessionExchange {
  /** Whether a response goes back that can carry a cookie or a header (not on a socket). */
  readonly respondable: boolean;
  /** A request header by lower-case name (its first value); `undefined` when absent. */
  header(name: string): string | undefined;
  /**
   * Puts the session cookie on the response, replacing one set earlier by this request, and
   * marks the response `Cache-Control: private, no-store`. A no-op where there is no response to carry a
   * cookie (a WebSocket message).
   */
  setCookie(name: string, setCookie: string): void;
  /**
   * How the client reached the app, as the platform sees it (honouring its trusted-proxy
   * setting, e.g. `X-Forwarded-Proto`); `undefined` where there is no HTTP request.
   */
  clientOrigin?(): { readonly secure: boolean; readonly hostname: string } | undefined;
  /**
   * The client's IP address as the platform resolved it, honouring its trusted-proxy setting
   * (Express `trust proxy` → `req.ip`, Fastify `trustProxy` → `request.ip`): a forwarded
   * address only from a proxy the app trusts. `undefined` where unknown.
   */
  clientAddress?(): string | undefined;
  /**
   * When the request's headers were sent, ms since the epoch, where that was before this use of
   * them: a WebSocket's or subscription's handshake, whose cookies serve every later message.
   * `undefined` for an ordinary request (now). Time-limited credentials in those headers (the
   * bound cookie of `deviceBound`) are checked as of then.
   */
  readonly presentedAt?: number;
  /** Sets a response header; a no-op where there is no response. */
  setHeader(name: string, value: string): void;
  /**
   * Called once, when the session is first used: the adapter must run `commit` before the
   * response is sent, and answer with the commit's error if it fails.
   */
  commitBeforeSend(commit: () => Promise<void>): void;
}
