import type { ValidationError } from 'class-validator';
import { unprefixed } from '../cookie/session-cookie.js';
import type { SessionModuleOptions } from '../interfaces/session-module-options.interface.js';
import { toMilliseconds } from './duration.js';
import type { ResolvedSessionOptions } from './resolve-session-options.js';

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

export function messagesOf(errors: ValidationError[], prefix: string): string[] {
  return errors.flatMap((error) =>
    Object.values(error.constraints ?? {}).map((message) =>
      message.startsWith(prefix) ? message : `${prefix}${message}`,
    ),
  );
}

export function secretProblems(secret: unknown): string[] {
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

export function storeProblems(options: SessionModuleOptions): string[] {
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

export function transportProblems(transport: unknown): string[] {
  return Array.isArray(transport) &&
    transport.length > 0 &&
    transport.every((entry) => TRANSPORTS.includes(entry as string))
    ? []
    : ["transport must be a non-empty list of 'cookie' and/or 'header'"];
}

export function csrfProblems(csrf: unknown): string[] {
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

/** Shortest `deviceBound.cookieLifetime` and `challengeLifetime`. */
const MIN_DEVICE_BOUND_MS = 1000;

/** Problems of `deviceBound` that need other options: a server-side store, the cookie, HTTPS. */
export function deviceBoundProblems(
  options: SessionModuleOptions,
  cookie: ResolvedSessionOptions['cookie'],
  durations: { cookieLifetimeMs: number; challengeLifetimeMs: number; idleTimeoutMs: number },
  names: { cookieName: string; registrationPath: string; refreshPath: string },
): string[] {
  const problems: string[] = [];
  if (options.store === 'cookie') {
    problems.push(
      "deviceBound needs a server-side store (the bound key lives in the session record); it is not available with store: 'cookie'",
    );
  } else if (
    options.store !== undefined &&
    typeof (options.store as { swapDeviceBinding?: unknown }).swapDeviceBinding !== 'function'
  ) {
    problems.push(
      'deviceBound needs a store that implements swapDeviceBinding (MemoryStore and RedisStore do)',
    );
  }
  if (!(options.transport ?? ['cookie']).includes('cookie')) {
    problems.push("deviceBound binds cookie sessions: add 'cookie' to transport");
  }
  if (!cookie.secure) {
    problems.push('deviceBound needs HTTPS: cookie.secure must be true');
  }
  for (const [name, ms] of [
    ['cookieLifetime', durations.cookieLifetimeMs],
    ['challengeLifetime', durations.challengeLifetimeMs],
  ] as const) {
    if (Number.isNaN(ms) || ms < MIN_DEVICE_BOUND_MS) {
      problems.push(`deviceBound.${name} must be a duration of at least 1s, such as '10m'`);
    }
  }
  if (durations.cookieLifetimeMs >= durations.idleTimeoutMs) {
    problems.push(
      'deviceBound.cookieLifetime must be shorter than idleTimeout: a copied bound cookie would outlive the idle expiry',
    );
  }
  if (names.cookieName === cookie.name) {
    problems.push('deviceBound.cookieName must differ from cookie.name');
  }
  if (names.registrationPath === names.refreshPath) {
    problems.push('deviceBound.registrationPath and refreshPath must differ');
  }
  return problems;
}

export function durationProblem(name: string, value: unknown): string[] {
  const ms = toMilliseconds(value as number | string);
  return Number.isNaN(ms) || ms <= 0
    ? [`${name} must be a positive number of ms or a duration such as '30m' or '12h'`]
    : [];
}

const MIN_SOCKET_CHECK_MS = 100;

export function socketCheckProblem(value: unknown): string[] {
  const ms = toMilliseconds(value as number | string);
  return Number.isNaN(ms) || ms < MIN_SOCKET_CHECK_MS
    ? [
        `socketCheckInterval must be a duration of at least ${MIN_SOCKET_CHECK_MS} ms, such as '5s' (how often open sockets' sessions are re-read)`,
      ]
    : [];
}

export function cookieProblems(
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

/** Default of `rotationGrace`. */
export const ROTATION_GRACE_DEFAULT = '10s';

/**
 * `rotateEvery` and `rotationGrace`: valid durations, the grace shorter than the period, and a
 * store that can rotate tokens atomically (`supportsRotation`).
 */
export function rotationProblems(options: SessionModuleOptions): string[] {
  const { rotateEvery, rotationGrace, store } = options;
  if (rotateEvery === undefined) {
    return rotationGrace === undefined
      ? []
      : [
          'rotationGrace has no effect without rotateEvery; set rotateEvery, or remove rotationGrace',
        ];
  }
  const problems = [
    ...durationProblem('rotateEvery', rotateEvery),
    ...durationProblem('rotationGrace', rotationGrace ?? ROTATION_GRACE_DEFAULT),
  ];
  if (problems.length === 0) {
    const every = toMilliseconds(rotateEvery);
    const grace = toMilliseconds(rotationGrace ?? ROTATION_GRACE_DEFAULT);
    if (grace >= every) {
      problems.push(
        `rotationGrace (${grace} ms) must be shorter than rotateEvery (${every} ms), or a session would rotate while its last token is still in its grace window`,
      );
    }
  }
  if (store === 'cookie') {
    problems.push(
      "rotateEvery needs a server-side store: with store: 'cookie' the session is the cookie itself, so there is no server-side record to remember a rotated-out token and detect its replay; remove rotateEvery, or use a server-side store",
    );
  } else if (
    store !== undefined &&
    typeof store === 'object' &&
    store !== null &&
    (store.supportsRotation !== true || store.supportsReplaces !== true)
  ) {
    problems.push(
      'rotateEvery needs a store with supportsRotation (and supportsReplaces): the store must move a session to a new token and leave a tombstone for the old one in one atomic step, with getTombstone() and destroyRotated(); this store does not declare it. Use MemoryStore or RedisStore, or implement the capability and pass the conformance suite',
    );
  }
  return problems;
}
