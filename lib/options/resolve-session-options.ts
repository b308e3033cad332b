import { validateSync, type ValidationError } from 'class-validator';
import { Keyring } from '../crypto/keyring.js';
import type {
  CsrfOptions,
  SessionCookieOptions,
  SessionModuleOptions,
} from '../interfaces/session-module-options.interface.js';
import type { SessionWriteOptions } from '../interfaces/session-store.interface.js';
import { unprefixed } from '../cookie/session-cookie.js';
import { MemoryStore } from '../stores/memory-session.store.js';
import { toMilliseconds } from './duration.js';
import { SessionOptionsError } from './session-options.error.js';
import { unknownOptionProblems } from './unknown-options.js';
import { CookieOptionsSchema, SessionOptionsSchema } from './session-options.schema.js';

/** Options after defaults, validation and key derivation. Frozen; shared by every provider. */
export interface ResolvedSessionOptions {
  readonly cookie: Readonly<Required<Omit<SessionCookieOptions, 'domain'>>> & {
    readonly domain: string | undefined;
  };
  readonly idleTimeoutMs: number;
  readonly absoluteTimeoutMs: number;
  readonly touchAfterMs: number;
  /** How often open sockets' sessions are re-read (`socketCheckInterval`). */
  readonly socketCheckIntervalMs: number;
  readonly keepOnLogin: readonly string[];
  readonly maxDataSize: number;
  readonly maxSessions: number;
  /** Passed to `SessionStore.set` for authenticated sessions (none in stateless mode). */
  readonly sessionLimit: Readonly<SessionWriteOptions>;
  /** Most sessions `SessionService.listForUser` returns (`maxSessionsPerUser`). */
  readonly maxListedSessions: number;
  /** Token-signing keys, HKDF-derived from the secrets; the first signs. */
  readonly signingKeys: readonly Buffer[];
  /** Keys per purpose, each HKDF-derived from every secret: the first seals, all open. */
  readonly keys: {
    readonly csrf: Keyring;
    readonly data: Keyring;
    readonly sealing: Keyring;
  };
  readonly transports: { readonly cookie: boolean; readonly header: boolean };
  readonly csrf: {
    readonly enabled: boolean;
    readonly trustedOrigins: ReadonlySet<string>;
    readonly headerName: string;
    readonly fieldName: string;
  };
  readonly encryptAtRest: boolean;
  /** `store: 'cookie'`: the session lives sealed in the cookie; the store keeps revocations. */
  readonly stateless: boolean;
}

const STORE_METHODS = ['get', 'set', 'update', 'touch', 'destroy', 'listByUser', 'destroyByUser'];
const REVOCATION_METHODS = ['revoke', 'revokeUser', 'isRevoked'];
const TRANSPORTS = ['cookie', 'header'];
const HOST_NAME = /^(?:[a-z0-9_-]+\.)*[a-z0-9_-]+$|^\[[0-9a-f:.]+\]$/;
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;

const MIN_SECRET_BYTES = 32;
const GENERATE_SECRET_HINT =
  "generate one with: node -e \"console.log(require('node:crypto').randomBytes(32).toString('base64url'))\"";

/** Secrets copied from tutorials and templates; refused whatever their length. */
const PLACEHOLDER_SECRETS = [
  'keyboard cat',
  'changeme',
  'change-me',
  'change_me',
  'replace-me',
  'replaceme',
  'your-secret',
  'your_secret',
  'yoursecret',
  'mysecret',
  'my-secret',
  'supersecret',
  'super-secret',
  'placeholder',
  'secretsecret',
  '0123456789',
  '1234567890',
];

export const SESSION_DEFAULTS = {
  cookie: {
    name: '__Host-sid',
    secure: true,
    httpOnly: true,
    sameSite: 'lax',
    path: '/',
    domain: undefined,
    persistent: false,
  },
  idleTimeout: '30m',
  absoluteTimeout: '12h',
  touchAfter: '1m',
  socketCheckInterval: '5s',
  allowInsecureCookies: false,
  keepOnLogin: [] as string[],
  maxDataSize: 16 * 1024,
  maxSessions: 100_000,
  maxSessionsPerUser: 50,
} as const;

function messagesOf(errors: ValidationError[], prefix: string): string[] {
  return errors.flatMap((error) =>
    Object.values(error.constraints ?? {}).map((message) =>
      message.startsWith(prefix) ? message : `${prefix}${message}`,
    ),
  );
}

function secretProblems(secret: unknown): string[] {
  const secrets = Array.isArray(secret) ? secret : [secret];
  if (secret === undefined || secret === null || secrets.length === 0) {
    return [`secret is required (at least ${MIN_SECRET_BYTES} bytes); ${GENERATE_SECRET_HINT}`];
  }
  return secrets.flatMap((value, index) => {
    const label = Array.isArray(secret) ? `secret[${index}]` : 'secret';
    if (typeof value !== 'string') {
      return [`${label} must be a string`];
    }
    if (Buffer.byteLength(value) < MIN_SECRET_BYTES) {
      return [`${label} is shorter than ${MIN_SECRET_BYTES} bytes; ${GENERATE_SECRET_HINT}`];
    }
    const lower = value.toLowerCase();
    if (
      PLACEHOLDER_SECRETS.some((placeholder) => lower.includes(placeholder)) ||
      new Set(value).size < 8
    ) {
      return [`${label} looks like a placeholder, not a random secret; ${GENERATE_SECRET_HINT}`];
    }
    return [];
  });
}

function storeProblems(options: SessionModuleOptions): string[] {
  const problems: string[] = [];
  const implementing = (methods: string[]) => (value: unknown) =>
    typeof value === 'object' &&
    value !== null &&
    methods.every((method) => typeof (value as Record<string, unknown>)[method] === 'function');
  const isStore = implementing(STORE_METHODS);
  if (options.store !== undefined && options.store !== 'cookie' && !isStore(options.store)) {
    problems.push(
      `store must be 'cookie' or implement SessionStore (${STORE_METHODS.join(', ')}); e.g. new RedisStore({ client })`,
    );
  }
  if (options.store === 'cookie' && options.transport?.includes('header')) {
    problems.push(
      "store: 'cookie' keeps the session in the cookie; it cannot use the 'header' transport (use a server-side store for API clients)",
    );
  }
  if (options.store === 'cookie' && options.maxSessionsPerUser !== undefined) {
    problems.push(
      "maxSessionsPerUser cannot be enforced with store: 'cookie' (stateless sessions are not counted anywhere); remove it, or use a server-side store",
    );
  }
  if (options.revocationStore !== undefined) {
    if (options.store !== 'cookie') {
      problems.push("revocationStore only applies with store: 'cookie'; remove it");
    } else if (!implementing(REVOCATION_METHODS)(options.revocationStore)) {
      problems.push(
        `revocationStore must implement RevocationStore (${REVOCATION_METHODS.join(', ')}): new RedisStore({ client }) across instances, or new MemoryRevocationStore() in one process (a MemoryStore evicts, so it cannot hold revocations)`,
      );
    }
  }
  return problems;
}

function transportProblems(transport: unknown): string[] {
  return Array.isArray(transport) &&
    transport.length > 0 &&
    transport.every((entry) => TRANSPORTS.includes(entry as string))
    ? []
    : ["transport must be a non-empty list of 'cookie' and/or 'header'"];
}

function csrfProblems(csrf: unknown): string[] {
  if (typeof csrf === 'boolean') {
    return [];
  }
  if (typeof csrf !== 'object' || csrf === null) {
    return ['csrf must be true, false or an options object'];
  }
  const { trustedOrigins = [], headerName, fieldName } = csrf as Record<string, unknown>;
  const problems: string[] = [];
  if (!Array.isArray(trustedOrigins)) {
    problems.push(
      "csrf.trustedOrigins must be a list of origins such as 'https://app.example.com'",
    );
  } else {
    trustedOrigins.forEach((origin, index) => {
      if (!isOrigin(origin)) {
        problems.push(
          `csrf.trustedOrigins[${index}] must be an exact origin such as 'https://app.example.com' (scheme, host, optional port; no path or trailing slash)`,
        );
      }
    });
  }
  if (
    headerName !== undefined &&
    (typeof headerName !== 'string' || !HEADER_NAME.test(headerName))
  ) {
    problems.push("csrf.headerName must be a lower-case header name such as 'x-csrf-token'");
  }
  if (fieldName !== undefined && (typeof fieldName !== 'string' || fieldName.length === 0)) {
    problems.push("csrf.fieldName must be a non-empty form field name such as '_csrf'");
  }
  return problems;
}

function isOrigin(value: unknown): boolean {
  if (typeof value !== 'string') {
    return false;
  }
  try {
    const url = new URL(value);
    // URL parsing lets '*' through as a host character; a wildcard never matches, so refuse it.
    return (
      (url.protocol === 'https:' || url.protocol === 'http:') &&
      url.origin === value &&
      HOST_NAME.test(url.hostname)
    );
  } catch {
    return false;
  }
}

function durationProblem(name: string, value: unknown): string[] {
  const ms = toMilliseconds(value as number | string);
  return Number.isNaN(ms) || ms <= 0
    ? [`${name} must be a positive number of ms or a duration such as '30m' or '12h'`]
    : [];
}

const MIN_SOCKET_CHECK_MS = 100;

function socketCheckProblem(value: unknown): string[] {
  const ms = toMilliseconds(value as number | string);
  return Number.isNaN(ms) || ms < MIN_SOCKET_CHECK_MS
    ? [
        `socketCheckInterval must be a duration of at least ${MIN_SOCKET_CHECK_MS} ms, such as '5s' (how often open sockets' sessions are re-read)`,
      ]
    : [];
}

function cookieProblems(
  cookie: ResolvedSessionOptions['cookie'],
  options: SessionModuleOptions,
): string[] {
  const problems: string[] = [];
  if (cookie.sameSite === 'none' && !cookie.secure) {
    problems.push(
      "cookie.sameSite 'none' requires cookie.secure: true (browsers drop it otherwise)",
    );
  }
  if (cookie.name.startsWith('__Host-')) {
    if (cookie.domain !== undefined) {
      problems.push(
        "cookie.domain is not allowed with a '__Host-' name; remove the domain, or use a '__Secure-' name to share the cookie across subdomains",
      );
    }
    if (cookie.path !== '/') {
      problems.push(
        "cookie.path must be '/' with a '__Host-' name; use a '__Secure-' name for a narrower path",
      );
    }
  }
  if (
    (cookie.name.startsWith('__Host-') || cookie.name.startsWith('__Secure-')) &&
    !cookie.secure
  ) {
    problems.push(
      `cookie.name '${cookie.name}' requires cookie.secure: true; for plain HTTP use a name without the prefix, e.g. cookie: { secure: false, name: '${unprefixed(cookie.name)}' }`,
    );
  }
  if (
    !cookie.secure &&
    process.env.NODE_ENV === 'production' &&
    options.allowInsecureCookies !== true
  ) {
    problems.push(
      'cookie.secure: false is refused under NODE_ENV=production; serve over HTTPS, or set allowInsecureCookies: true if TLS ends in front of the app and you accept the risk',
    );
  }
  return problems;
}

/**
 * Whether sessions leave the process (RedisStore, any custom store): encrypted at rest by
 * default there. The default MemoryStore's memory is the process's own.
 */
function storesOutsideProcess(store: SessionModuleOptions['store']): boolean {
  return store !== undefined && store !== 'cookie' && !(store instanceof MemoryStore);
}

/**
 * Merges defaults over the user's options, validates them and derives the keys. Throws a
 * `SessionOptionsError` that names every wrong option and its fix.
 */
export function resolveSessionOptions(options: SessionModuleOptions): ResolvedSessionOptions {
  if (options === null || typeof options !== 'object') {
    throw new SessionOptionsError([
      'SessionModule.forRoot() needs an options object with a secret',
    ]);
  }
  const userCookie = options.cookie ?? {};
  const cookie = { ...SESSION_DEFAULTS.cookie, ...userCookie } as ResolvedSessionOptions['cookie'];
  const merged = { ...SESSION_DEFAULTS, ...options, cookie };

  const problems = [
    ...unknownOptionProblems(options),
    ...secretProblems(options.secret),
    ...messagesOf(validateSync(Object.assign(new SessionOptionsSchema(), merged)), ''),
    ...messagesOf(validateSync(Object.assign(new CookieOptionsSchema(), userCookie)), 'cookie.'),
    ...durationProblem('idleTimeout', merged.idleTimeout),
    ...durationProblem('absoluteTimeout', merged.absoluteTimeout),
    ...durationProblem('touchAfter', merged.touchAfter),
    ...socketCheckProblem(merged.socketCheckInterval),
    ...storeProblems(options),
    ...transportProblems(options.transport ?? ['cookie']),
    ...csrfProblems(options.csrf ?? true),
  ];
  if (problems.length === 0) {
    problems.push(...cookieProblems(cookie, options));
  }
  const idleTimeoutMs = toMilliseconds(merged.idleTimeout);
  const absoluteTimeoutMs = toMilliseconds(merged.absoluteTimeout);
  const touchAfterMs = toMilliseconds(merged.touchAfter);
  if (problems.length === 0 && idleTimeoutMs > absoluteTimeoutMs) {
    problems.push('idleTimeout must not be longer than absoluteTimeout');
  }
  if (problems.length === 0 && touchAfterMs >= idleTimeoutMs) {
    problems.push(
      'touchAfter must be shorter than idleTimeout, or idle sessions expire while in use',
    );
  }
  if (problems.length > 0) {
    throw new SessionOptionsError(problems);
  }

  const secrets = Array.isArray(options.secret) ? options.secret : [options.secret];
  const maxSessionsPerUser = options.maxSessionsPerUser ?? SESSION_DEFAULTS.maxSessionsPerUser;
  const transport = options.transport ?? ['cookie'];
  const csrf: CsrfOptions = typeof options.csrf === 'object' ? options.csrf : {};
  return Object.freeze({
    cookie: Object.freeze(cookie),
    idleTimeoutMs,
    absoluteTimeoutMs,
    touchAfterMs,
    socketCheckIntervalMs: toMilliseconds(merged.socketCheckInterval),
    keepOnLogin: Object.freeze([...merged.keepOnLogin]),
    maxDataSize: merged.maxDataSize,
    maxSessions: merged.maxSessions,
    sessionLimit: Object.freeze(
      options.store === 'cookie'
        ? {}
        : {
            maxSessionsPerUser,
            limitPolicy: options.sessionLimitPolicy ?? 'evict-oldest',
          },
    ),
    maxListedSessions: maxSessionsPerUser,
    signingKeys: Object.freeze(new Keyring(secrets, 'token-signing').keys.map(({ key }) => key)),
    keys: Object.freeze({
      csrf: new Keyring(secrets, 'csrf'),
      data: new Keyring(secrets, 'data-encryption'),
      sealing: new Keyring(secrets, 'cookie-sealing'),
    }),
    transports: Object.freeze({
      cookie: transport.includes('cookie'),
      header: transport.includes('header'),
    }),
    csrf: Object.freeze({
      enabled: options.csrf !== false,
      trustedOrigins: new Set(csrf.trustedOrigins ?? []),
      headerName: csrf.headerName ?? 'x-csrf-token',
      fieldName: csrf.fieldName ?? '_csrf',
    }),
    encryptAtRest: options.encryptAtRest ?? storesOutsideProcess(options.store),
    stateless: options.store === 'cookie',
  });
}
