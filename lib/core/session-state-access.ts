import { csrfTokenFor } from '../csrf/csrf-token.js';
import { signToken } from '../crypto/session-token.js';
import type { SessionData } from '../interfaces/session-data.interface.js';
import { assertDataKey } from './session-data.codec.js';
import { SessionStateBase } from './session-state-base.js';

/**
 * The `SessionHandle` a handler sees, read from and written to this request's state in
 * memory; the lifecycle (load, login, commit) is `SessionState`'s.
 *
 * @internal
 */
export abstract class SessionAccess extends SessionStateBase {
  get isLoaded(): boolean {
    return this.loaded;
  }

  /** Loaded, and the load succeeded: the session can be read now, with no promise to wait for. */
  get isReady(): boolean {
    return this.loaded && !this.loadFailed;
  }

  /** Whether anything asked for the session during this request. */
  get isTouched(): boolean {
    return this.loading !== null;
  }

  /** Whether the session travels in the `Authorization` header (no ambient credentials). */
  usesHeaderTransport(): boolean {
    return this.carrier?.transport === 'header';
  }

  /** Whether the request presented a live session (as opposed to having none, or a new one). */
  hasStoredSession(): boolean {
    return this.presented && this.contents !== null;
  }

  get id(): string {
    return this.ensureContents().record.id;
  }

  /**
   * The id the session `id` is stored under until this request commits: while a move
   * (regenerate, login) is pending, the id it replaces; else `id` itself.
   */
  storedIdOf(id: string): string {
    const pending = this.contents !== null && !this.persisted && this.contents.record.id === id;
    return (pending ? this.moves.latest : null) ?? id;
  }

  get userId(): string | null {
    return this.loadedContents()?.record.userId ?? null;
  }

  get isAuthenticated(): boolean {
    return this.userId !== null;
  }

  get data(): Readonly<Partial<SessionData>> {
    return this.loadedContents()?.snapshot() ?? Object.freeze({});
  }

  get createdAt(): Date {
    return new Date(this.ensureContents().record.createdAt);
  }

  get lastSeenAt(): Date {
    return new Date(this.ensureContents().record.lastSeenAt);
  }

  get authenticatedAt(): Date | null {
    const authenticatedAt = this.loadedContents()?.record.authenticatedAt ?? null;
    return authenticatedAt === null ? null : new Date(authenticatedAt);
  }

  override get stepUpRequired(): boolean {
    return this.loadedContents()?.record.client?.stepUp === true;
  }

  /** Whether a device key is bound to the session (`deviceBound`); its bound cookie was checked at load. */
  get isDeviceBound(): boolean {
    return this.loadedContents()?.record.deviceBinding != null;
  }

  get csrfToken(): string {
    return csrfTokenFor(this.csrfSubject(), this.runtime.options.keys.csrf);
  }

  /** The id the CSRF token is bound to: the session's id, or its id before any rotation. */
  csrfSubject(): string {
    const record = this.ensureContents().record;
    return record.originId ?? record.id;
  }

  get bearerToken(): string | null {
    if (this.carrier?.transport !== 'header' || this.token === null) {
      return null;
    }
    return signToken(this.token, this.runtime.options.signingKeys[0]);
  }

  get<K extends keyof SessionData>(key: K): SessionData[K] | undefined {
    return this.loadedContents()?.get(key as string) as SessionData[K] | undefined;
  }

  set<K extends keyof SessionData>(key: K, value: SessionData[K]): void {
    assertDataKey(key);
    if (value === undefined) {
      this.delete(key);
      return;
    }
    this.ensureContents().set(key as string, value);
  }

  delete(key: keyof SessionData): void {
    assertDataKey(key);
    this.loadedContents()?.delete(key as string);
  }
}
