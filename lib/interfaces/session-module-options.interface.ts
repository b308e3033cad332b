import type { RevocationStore } from './revocation-store.interface.js';
import type { SessionLimitPolicy, SessionStore } from './session-store.interface.js';

/** A duration: a number of milliseconds, or a string such as `'500ms'`, `'30s'`, `'30m'`, `'12h'`, `'7d'`. */
export type Duration = number | string;

/** Attributes of the session cookie. Every field has a hardened default. */
export interface SessionCookieOptions {
  /**
   * Cookie name. Default `'__Host-sid'`: the `__Host-` prefix makes the browser refuse the cookie
   * unless it is `Secure`, has `Path=/` and no `Domain`, so a sibling subdomain cannot plant one.
   */
  name?: string;
  /** `Secure` attribute. Default `true`. `false` under `NODE_ENV=production` needs `allowInsecureCookies`. */
  secure?: boolean;
  /** `HttpOnly` attribute. Default `true`: scripts cannot read the session cookie. */
  httpOnly?: boolean;
  /** `SameSite` attribute. Default `'lax'`. `'none'` requires `secure`. */
  sameSite?: 'lax' | 'strict' | 'none';
  /** `Path` attribute. Default `'/'` (required by `__Host-`). */
  path?: string;
  /** `Domain` attribute. Default none (host-only). Not allowed with a `__Host-` name. */
  domain?: string;
  /**
   * Make the cookie outlive the browser session. Default `false`: no `Max-Age`, the cookie ends
   * with the browser. When `true`, `Max-Age` is the absolute lifetime the session has left.
   */
  persistent?: boolean;
}

/** Where a request may carry its session token. */
export type SessionTransport = 'cookie' | 'header';

/** What hijack signals do when a session's client changes (see `HijackSignalsOptions`). */
export type HijackPolicy = 'log' | 'step-up' | 'revoke';

/**
 * Hijack signals: at login the library records a coarse fingerprint of the client (browser
 * family and major version; a keyed hash of its IPv4 /24 or IPv6 /64, as the platform resolves
 * the client address behind the app's trusted proxy). When a later request of the session
 * comes from a client that no longer matches, it emits `hijack-suspected` once per change and
 * applies `policy`. Agents that are not a known browser, and addresses the platform cannot
 * resolve, are never compared.
 */
export interface HijackSignalsOptions {
  /**
   * `'log'` (default): only the event. `'step-up'`: also, the session counts as not fresh
   * (`@FreshSession()` routes answer `401` with `reauthenticate: true`) until the user logs in
   * again. `'revoke'`: the session ends (a `revoked` event, reason `'hijack-suspected'`), and
   * the request goes on without it (`401` on a protected route).
   */
  policy?: HijackPolicy;
  /**
   * Compare the client network too. Default `true`. Mobile clients and IPv6 privacy addresses
   * change network often: turn it off to compare the browser only. The platform must know the
   * real client address: Express `app.set('trust proxy', …)`, Fastify `trustProxy`.
   */
  network?: boolean;
}

/** Cross-site request forgery defences for cookie sessions. */
export interface CsrfOptions {
  /**
   * Origins (`scheme://host[:port]`, exact match) other than the app's own that may send unsafe
   * requests, e.g. a separate front-end origin. A `Sec-Fetch-Site: same-site` request is
   * accepted only from one of these. Default: none.
   */
  trustedOrigins?: string[];
  /** Request header carrying the token. Default `'x-csrf-token'`. */
  headerName?: string;
  /** Form field carrying the token (urlencoded or JSON body). Default `'_csrf'`. */
  fieldName?: string;
}

/** What a route asks of device binding: `'allow'` unbound sessions too, or `'require'` a bound one. */
export type DeviceBoundPolicy = 'allow' | 'require';

/**
 * Device Bound Session Credentials (W3C DBSC): after login, a browser that supports DBSC makes a
 * key pair (in a TPM where it has one), registers the public key with the session, and from then
 * on proves possession of the private key to renew a short-lived bound cookie. A session with a
 * bound key is usable only with a valid bound cookie, so a cookie copied off the device stops
 * working within `cookieLifetime`. Needs HTTPS, the cookie transport and a server-side store.
 */
export interface DeviceBoundOptions {
  /** Path of the registration endpoint (POST) the module adds. Default `'/session/dbsc/register'`. */
  registrationPath?: string;
  /** Path of the refresh endpoint (POST) the module adds. Default `'/session/dbsc/refresh'`. */
  refreshPath?: string;
  /**
   * Name of the short-lived bound cookie. Default `'__Host-dbsc'` (`Secure`, `Path=/`, no
   * `Domain`, `HttpOnly`, the session cookie's `SameSite`).
   */
  cookieName?: string;
  /**
   * How long a bound cookie works: a copied one dies this long after the device last refreshed
   * it. The browser refreshes it (one signed request) about this often while the site is in
   * use. At least `'1s'`, shorter than `idleTimeout`. Default `'10m'`.
   */
  cookieLifetime?: Duration;
  /**
   * How long a challenge can be answered. A correctly signed proof over an older challenge of
   * this server gets a new challenge (the browser retries), not a refusal. At least `'1s'`.
   * Default `'5m'`.
   */
  challengeLifetime?: Duration;
  /**
   * What routes without `@DeviceBound()` ask: `'allow'` (default) lets sessions that never
   * bound a key through (browsers without DBSC), `'require'` refuses them with `401`. A session
   * that did bind a key always needs its bound cookie, whatever the policy.
   */
  policy?: DeviceBoundPolicy;
}

/**
 * Options of `SessionModule.forRoot()`.
 *
 * @example
 * ```ts
 * SessionModule.forRoot({
 *   secret: process.env.SESSION_SECRET!,
 *   idleTimeout: '30m',
 *   absoluteTimeout: '12h',
 *   global: true,
 * })
 * ```
 */
export interface SessionModuleOptions {
  /**
   * Secret(s) the signing keys are derived from; at least 32 bytes each. With a list, the first
   * signs and every one verifies, so secrets rotate without logging anyone out: put the new one
   * first, and remove the old one once `absoluteTimeout` has passed.
   */
  secret: string | string[];
  /**
   * Where sessions live. Default: a `MemoryStore` (one process only). `'cookie'`: stateless
   * mode, the whole session sealed (AES-256-GCM) in the cookie; see `revocationStore`.
   */
  store?: SessionStore | 'cookie';
  /**
   * Stateless mode only: where logouts and revocations are remembered until the sealed
   * cookies they concern expire, so a copied cookie stops working after logout. One read per
   * request. Must implement `RevocationStore` (checked at boot; a `SessionStore`-typed
   * `RedisStore` is accepted, it implements both). Default: a `MemoryRevocationStore` (one
   * process, bounded, fails closed when full); pass a `RedisStore` for several instances.
   */
  revocationStore?: RevocationStore | SessionStore;
  /**
   * Where requests may carry the session token. Default `['cookie']`. Add `'header'` for API
   * and mobile clients sending `Authorization: Bearer <token>` (see `login(…, { transport })`).
   * Tokens are never read from a URL or a body.
   */
  transport?: SessionTransport[];
  /**
   * CSRF protection of cookie sessions: Fetch Metadata and `Origin` checks on unsafe methods,
   * and a per-session token (`session.csrfToken`) required in a header or form field. Default
   * `true`. Requests authenticated by the `Authorization` header are exempt.
   */
  csrf?: boolean | CsrfOptions;
  /**
   * Seal every data value with AES-256-GCM before the store sees it, under a key derived from
   * the secret and the session's own token: a store dump reveals nothing, even with the secret.
   * Default `true` for every store outside the process (`RedisStore`, custom stores) and `false`
   * for `MemoryStore`, whose memory is the process's own; set it to opt out or in explicitly.
   */
  encryptAtRest?: boolean;
  /** Cookie attributes. */
  cookie?: SessionCookieOptions;
  /** Sliding expiry after the last activity. Default `'30m'`. */
  idleTimeout?: Duration;
  /** Hard cap from creation, never extended. Default `'12h'`. */
  absoluteTimeout?: Duration;
  /** Record activity in the store at most this often (a write of its own). Default `'1m'`. */
  touchAfter?: Duration;
  /** Allow `cookie.secure: false` under `NODE_ENV=production`. Default `false`. */
  allowInsecureCookies?: boolean;
  /**
   * Keys of anonymous session data kept across login (a cart, a locale). Every other key is
   * dropped when the user logs in. Default: none.
   */
  keepOnLogin?: string[];
  /** Largest session data, in bytes of its encoded form. Default 16 KiB. */
  maxDataSize?: number;
  /**
   * Capacity of the default `MemoryStore`: at most this many authenticated sessions, and as
   * many anonymous ones in a budget of their own. Default 100 000.
   */
  maxSessions?: number;
  /**
   * Most concurrent sessions per user, enforced atomically by the store at login; also the
   * most `listForUser` returns. A `regenerate()` or re-login replaces a session and is never
   * counted twice. Default 50. Not available with `store: 'cookie'` (refused at start-up).
   */
  maxSessionsPerUser?: number;
  /** What a login beyond `maxSessionsPerUser` does. Default `'evict-oldest'`. */
  sessionLimitPolicy?: SessionLimitPolicy;
  /**
   * How often the session of each open WebSocket is re-read from the store (one read per
   * session, however many sockets it has), so that a socket whose session was revoked, logged
   * out or expired elsewhere (another instance, another process) is closed within this bound.
   * Revocations through this process's `SessionService` close its sockets at once. At least
   * `'100ms'`. Default `'5s'`.
   */
  socketCheckInterval?: Duration;
  /**
   * Hijack signals (see `HijackSignalsOptions`), or `false` to record and compare nothing.
   * Default `{ policy: 'log', network: true }` with the built-in stores and `store: 'cookie'`:
   * events only, nothing a user notices. With a custom store, on only when the store
   * implements `setClient` (an explicit setting with a store that lacks it stops the boot).
   *
   * @example
   * ```ts
   * SessionModule.forRoot({ secret, hijackSignals: { policy: 'step-up' } })
   * ```
   */
  hijackSignals?: HijackSignalsOptions | false;
  /**
   * Token rotation: once a signed-in session's token is older than this, the next successful
   * response that can set the cookie moves the session to a new token (same session: data, user,
   * `createdAt`, absolute expiry and `authenticatedAt` are kept). The old token keeps working for
   * `rotationGrace` (requests in flight, other tabs); presented after that, it is taken for a
   * stolen copy and the whole session is revoked (`revoked` event, reason `'theft-detected'`).
   * Cookie transport only: bearer tokens are not rotated. Needs a server-side store with
   * `supportsRotation` (the built-in ones): refused with `store: 'cookie'`. Default: off.
   *
   * @example
   * ```ts
   * SessionModule.forRoot({ secret, store, rotateEvery: '15m', rotationGrace: '10s' })
   * ```
   */
  rotateEvery?: Duration;
  /**
   * How long a rotated-out token still leads to its session (`rotateEvery`). Must be shorter
   * than `rotateEvery`. Default `'10s'`.
   */
  rotationGrace?: Duration;
  /**
   * Device-bound sessions (W3C DBSC), opt-in: `true` for the defaults, or the options. A login
   * response offers registration (`Secure-Session-Registration`); the module adds the
   * registration and refresh endpoints. See `DeviceBoundOptions`. Default: off.
   */
  deviceBound?: boolean | DeviceBoundOptions;
}

/** Extra `forRoot()` flags, outside the options object the factory produces. */
export interface SessionModuleExtras {
  /** Register `SessionGuard` as a global guard; routes opt out with `@Public()`. Default `false`. */
  global?: boolean;
}
