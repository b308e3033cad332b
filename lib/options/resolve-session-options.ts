import { validateSync } from 'class-validator';
import { Keyring } from '../crypto/keyring.js';
import type {
  CsrfOptions,
  DeviceBoundOptions,
  DeviceBoundPolicy,
  SessionCookieOptions,
  SessionModuleOptions,
} from '../interfaces/session-module-options.interface.js';
import type { SessionWriteOptions } from '../interfaces/session-store.interface.js';
import { MemoryStore } from '../stores/memory-session.store.js';
import {
  hijackSignalsProblems,
  resolveHijackSignals,
  type ResolvedHijackSignals,
} from './hijack-signals.options.js';
import {
  cookieProblems,
  csrfProblems,
  deviceBoundProblems,
  durationProblem,
  messagesOf,
  ROTATION_GRACE_DEFAULT,
  rotationProblems,
  secretProblems,
  socketCheckProblem,
  storeProblems,
  transportProblems,
} from './option-problems.js';
import { toMilliseconds } from './duration.js';
import { SessionOptionsError } from './session-options.error.js';
import { unknownOptionProblems } from './unknown-options.js';
import {
  CookieOptionsSchema,
  DeviceBoundOptionsSchema,
  SessionOptionsSchema,
} from './session-options.schema.js';

/** `deviceBound` after defaults. */
export interface ResolvedDeviceBound {
  readonly registrationPath: string;
  readonly refreshPath: string;
  readonly cookieName: string;
  readonly cookieLifetimeMs: number;
  readonly challengeLifetimeMs: number;
  readonly policy: DeviceBoundPolicy;
}

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
    /** Keys of the client-network hashes of hijack signals. */
    readonly network: Keyring;
    /** Challenges and bound cookies of `deviceBound`. */
    readonly deviceBinding: Keyring;
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
  /** Hijack signals, or `null` when off. */
  readonly hijackSignals: ResolvedHijackSignals | null;
  /** Token rotation (`rotateEvery`, `rotationGrace`), or `null` when off (the default). */
  readonly rotation: { readonly everyMs: number; readonly graceMs: number } | null;
  /** Device-bound sessions (DBSC); `null` when off. */
  readonly deviceBound: ResolvedDeviceBound | null;
}

const DEVICE_BOUND_DEFAULTS = {
  registrationPath: '/session/dbsc/register',
  refreshPath: '/session/dbsc/refresh',
  cookieName: '__Host-dbsc',
  cookieLifetime: '10m',
  challengeLifetime: '5m',
  policy: 'allow',
} as const;

/** `deviceBound` with its defaults, or `null` when off; its problems are added to `problems`. */
function resolveDeviceBound(
  options: SessionModuleOptions,
  cookie: ResolvedSessionOptions['cookie'],
  idleTimeoutMs: number,
  problems: string[],
): ResolvedDeviceBound | null {
  const given = options.deviceBound ?? false;
  if (given === false) {
    return null;
  }
  if (given !== true && (typeof given !== 'object' || given === null || Array.isArray(given))) {
    problems.push('deviceBound must be true, false or an options object');
    return null;
  }
  const user: DeviceBoundOptions = given === true ? {} : given;
  problems.push(
    ...messagesOf(
      validateSync(Object.assign(new DeviceBoundOptionsSchema(), user)),
      'deviceBound.',
    ),
  );
  const merged = { ...DEVICE_BOUND_DEFAULTS, ...user };
  const resolved: ResolvedDeviceBound = Object.freeze({
    registrationPath: merged.registrationPath,
    refreshPath: merged.refreshPath,
    cookieName: merged.cookieName,
    cookieLifetimeMs: toMilliseconds(merged.cookieLifetime),
    challengeLifetimeMs: toMilliseconds(merged.challengeLifetime),
    policy: merged.policy,
  });
  problems.push(...deviceBoundProblems(options, cookie, { ...resolved, idleTimeoutMs }, resolved));
  return resolved;
}

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
    ...hijackSignalsProblems(options),
    ...rotationProblems(options),
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
  const deviceBound = resolveDeviceBound(options, cookie, idleTimeoutMs, problems);
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
      network: new Keyring(secrets, 'client-network'),
      deviceBinding: new Keyring(secrets, 'device-binding'),
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
    hijackSignals: resolveHijackSignals(options),
    rotation:
      options.rotateEvery === undefined
        ? null
        : Object.freeze({
            everyMs: toMilliseconds(options.rotateEvery),
            graceMs: toMilliseconds(options.rotationGrace ?? ROTATION_GRACE_DEFAULT),
          }),
    deviceBound,
  });
}
