import { randomBytes } from 'node:crypto';
import { assertDataKey, decodeValue, encodeValue } from '../core/session-data.codec.js';
import { SessionHandle } from '../core/session-handle.js';
import type { SessionData } from '../interfaces/session-data.interface.js';

/**
 * Options of `createFakeSession`.
 *
 * @example
 * ```ts
 * createFakeSession({ userId: 'alice', authenticatedAt: new Date(Date.now() - 3_600_000) });
 * ```
 */
export interface FakeSessionOptions {
  /** The logged-in user; `null` (default) for an anonymous session. */
  userId?: string | null;
  /** The session's data, typed by your `SessionData` declaration. */
  data?: Partial<SessionData>;
  /** Public id. Default: a random one. */
  id?: string;
  /** Default: now. */
  createdAt?: Date;
  /** Default: `createdAt`. */
  lastSeenAt?: Date;
  /** Default: `createdAt` when `userId` is set, else `null`. */
  authenticatedAt?: Date | null;
  /** As after `login(…, { transport: 'header' })`. Default `null` (a cookie session). */
  bearerToken?: string | null;
}

/**
 * A `SessionHandle` that lives in memory, for unit tests of controllers and services that take
 * one: nothing is stored and no module is needed. It keeps the real handle's rules (keys are
 * checked, values go through JSON, `regenerate()` changes the id and CSRF token, `destroy()`
 * leaves an empty anonymous session) and shows what the code under test did.
 *
 * @example
 * ```ts
 * const session = createFakeSession({ userId: 'alice', data: { roles: ['admin'] } });
 * await controller.logout(session);
 * expect(session.destroyed).toBe(true);
 * ```
 */
export class FakeSession extends SessionHandle {
  private currentId: string;
  private user: string | null;
  private authenticated: Date | null;
  private bearer: string | null;
  private readonly values = new Map<string, string>();
  private readonly created: Date;
  private readonly lastSeen: Date;
  private wasDestroyed = false;
  private wasRegenerated = false;

  constructor(options: FakeSessionOptions = {}) {
    super();
    this.currentId = options.id ?? newId();
    this.user = options.userId ?? null;
    this.created = options.createdAt ?? new Date();
    this.lastSeen = options.lastSeenAt ?? this.created;
    this.authenticated =
      options.authenticatedAt !== undefined
        ? options.authenticatedAt
        : this.user === null
          ? null
          : this.created;
    this.bearer = options.bearerToken ?? null;
    for (const [key, value] of Object.entries(options.data ?? {})) {
      this.set(key as keyof SessionData, value as SessionData[keyof SessionData]);
    }
  }

  /** `true` once `destroy()` ran. */
  get destroyed(): boolean {
    return this.wasDestroyed;
  }

  /** `true` once `regenerate()` ran. */
  get regenerated(): boolean {
    return this.wasRegenerated;
  }

  get id(): string {
    return this.currentId;
  }

  get userId(): string | null {
    return this.user;
  }

  get isAuthenticated(): boolean {
    return this.user !== null;
  }

  get data(): Readonly<Partial<SessionData>> {
    const data: Record<string, unknown> = {};
    for (const key of this.values.keys()) {
      data[key] = this.get(key as keyof SessionData);
    }
    return Object.freeze(data) as Readonly<Partial<SessionData>>;
  }

  get createdAt(): Date {
    return new Date(this.created);
  }

  get lastSeenAt(): Date {
    return new Date(this.lastSeen);
  }

  get authenticatedAt(): Date | null {
    return this.authenticated === null ? null : new Date(this.authenticated);
  }

  /** `fake-csrf:<id>`: changes with the id, as the real token does. */
  get csrfToken(): string {
    return `fake-csrf:${this.currentId}`;
  }

  get bearerToken(): string | null {
    return this.bearer;
  }

  get<K extends keyof SessionData>(key: K): SessionData[K] | undefined {
    const stored = this.values.get(key as string);
    return stored === undefined ? undefined : (decodeValue(stored) as SessionData[K]);
  }

  set<K extends keyof SessionData>(key: K, value: SessionData[K]): void {
    assertDataKey(key);
    if (value === undefined) {
      this.values.delete(key);
      return;
    }
    this.values.set(key, encodeValue(key, value));
  }

  delete(key: keyof SessionData): void {
    assertDataKey(key);
    this.values.delete(key);
  }

  async regenerate(): Promise<void> {
    this.currentId = newId();
    this.wasRegenerated = true;
  }

  async destroy(): Promise<void> {
    this.currentId = newId();
    this.user = null;
    this.authenticated = null;
    this.bearer = null;
    this.values.clear();
    this.wasDestroyed = true;
  }
}

/**
 * A fake session for unit tests (see `FakeSession`), typed by your `SessionData`: pass it
 * wherever the code under test takes a `SessionHandle` (`@Session()` parameters), no cast.
 *
 * @example
 * ```ts
 * const session = createFakeSession({ userId: 'alice', data: { roles: ['admin'] } });
 * expect(controller.me(session)).toEqual({ userId: 'alice', roles: ['admin'] });
 * ```
 */
export function createFakeSession(options: FakeSessionOptions = {}): FakeSession {
  return new FakeSession(options);
}

function newId(): string {
  return randomBytes(16).toString('base64url');
}
