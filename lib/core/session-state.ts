import { csrfTokenFor } from '../csrf/csrf-token.js';
import { generateToken, signToken } from '../crypto/session-token.js';
import type { SessionData } from '../interfaces/session-data.interface.js';
import type { SessionTransport } from '../interfaces/session-module-options.interface.js';
import type { SessionRecord } from '../interfaces/session-store.interface.js';
import type { TokenCarrier } from './carriers/token-carrier.js';
import { loginCarrier, userIdOf } from './login-carrier.js';
import { SessionContents } from './session-contents.js';
import { assertDataKey } from './session-data.codec.js';
import { PRIVATE_NO_STORE, type SessionExchange } from './session-exchange.js';
import { SessionHandle } from './session-handle.js';
import { SessionMoves } from './session-moves.js';
import { newRecord } from './session-record.js';
import type { SessionRuntime } from './session-runtime.js';
import { SessionValues } from './session-values.js';
import { SessionRevokedError } from './session.errors.js';

/** How `login()` hands the new session to the client. */
export interface LoginOptions {
  /** `'cookie'` (default) sets the session cookie; `'header'` sets none: read `bearerToken`. */
  transport?: SessionTransport;
}

/**
 * One request's session, whatever the platform: loaded lazily, changed in memory, saved once
 * before the response is sent. The request path is one line:
 * adapter binds → carrier reads → persistence opens → handler → persistence saves → carrier
 * writes → adapter sends. Nothing here runs for a request that never touches its session.
 */
export class SessionState extends SessionHandle {
  private loading: Promise<void> | null = null;
  private loaded = false;
  private loadFailed = false;
  /** The session and this request's changes; `null` while the visitor has none. */
  private contents: SessionContents | null = null;
  private token: string | null = null;
  /** Whether the session exists beyond this request (false for a new or moved session). */
  private persisted = false;
  /** Whether the session was presented by this request (rather than created by it). */
  private presented = false;
  private carrier: TokenCarrier | null;
  /** The carrier the live session was presented in: cleared if the session ends in flight. */
  private presentedBy: TokenCarrier | null = null;
  /** Ids this request moved away from (regenerate, login): ended at commit. */
  private readonly moves = new SessionMoves();
  /** The client must be handed the session's value at commit. */
  private reissue = false;

  constructor(
    private readonly runtime: SessionRuntime,
    private readonly exchange: SessionExchange,
  ) {
    super();
    this.carrier = runtime.carrierFor(exchange);
  }

  /** Loads the session once; later calls share the first load. Rejects with `503` on store failure. */
  load(): Promise<void> {
    if (this.loading === null) {
      this.exchange.commitBeforeSend(() => this.commit());
      this.loading = this.open();
    }
    return this.loading;
  }

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

  get csrfToken(): string {
    return csrfTokenFor(this.id, this.runtime.options.keys.csrf);
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

  async regenerate(): Promise<void> {
    await this.load();
    const contents = this.ensureContents();
    this.moveTo(contents.record, contents.plainData(Object.keys(contents.record.data)));
  }

  /**
   * Starts an authenticated session for `userId` under a new token (fixation defence): the old
   * session is ended at commit and only `keepOnLogin` keys of its data carry over. A numeric id
   * is kept as its decimal string (`session.userId` is always a string).
   */
  async login(
    userId: string | number,
    data: Partial<SessionData> = {},
    options: LoginOptions = {},
  ): Promise<void> {
    const id = userIdOf(userId);
    const carrier = loginCarrier(this.runtime, this.exchange, options);
    if (carrier === this.carrier) {
      await this.load();
    } else {
      // A login for another carrier (a token for an API client, from a request that came with
      // the cookie) neither reads nor ends the session the request presented: it is another
      // client's, and ending it here would let a forged request log its owner out.
      this.detachPresented();
    }
    const kept = this.contents?.plainData(this.runtime.options.keepOnLogin) ?? new Map();
    const now = this.runtime.now();
    this.carrier = carrier;
    this.moveTo({ ...this.blankRecord(now), userId: id, authenticatedAt: now }, kept);
    for (const [key, value] of Object.entries(data)) {
      this.set(key as keyof SessionData, value as SessionData[keyof SessionData]);
    }
  }

  async destroy(): Promise<void> {
    await this.load();
    if (this.persisted && this.contents !== null) {
      this.moves.add(this.contents.record.id, this.contents.record.userId === null);
    }
    await this.runtime.persistence.end(this.moves.all(), this.runtime.now(), this.moves.anonymous);
    this.forget();
    this.carrier?.clear(this.exchange);
  }

  /**
   * Saves what this request changed, in one store call, and hands the client its value. A
   * session that nothing touched costs nothing; one that changed nothing is only touched, at
   * most every `touchAfter`.
   */
  async commit(): Promise<void> {
    if (this.loading === null) {
      return;
    }
    await this.loading;
    const { persistence } = this.runtime;
    const contents = this.contents;
    const now = this.runtime.now();
    let value: string | null = null;
    let endedByStore: string | null = null;
    if (contents !== null) {
      // A move (login, regenerate) replaces one persisted session: the store ends it in the
      // same atomic step as the save, and refuses the save if it has ended already.
      const replaces = this.moves.latest;
      const saved = await this.ifStillLive(
        persistence.save({
          record: contents.record,
          token: this.token,
          isNew: !this.persisted,
          changes: contents.changes,
          reissue: this.reissue,
          replaces,
          now,
        }),
      );
      this.persisted = saved.persisted;
      value = saved.value;
      contents.changes.clear();
      if (saved.replaced === true) {
        endedByStore = replaces;
      }
    }
    const obsolete = this.moves.all(endedByStore);
    if (obsolete.length > 0) {
      await persistence.end(obsolete, now, this.moves.anonymous);
    }
    this.moves.clear();
    if (contents?.record.userId != null) {
      // The response was made for a logged-in user: no shared or browser cache may keep it.
      this.exchange.setHeader('cache-control', PRIVATE_NO_STORE);
    }
    if (value !== null && contents !== null && this.carrier !== null) {
      const left = Math.floor((contents.record.absoluteExpiresAt - now) / 1000);
      this.carrier.write(this.exchange, value, Math.max(0, left), this.presented);
    }
    this.reissue = false;
  }

  /**
   * The save's result; when the session ended while this request was in flight
   * (`SessionRevokedError`), the request is left with no session: nothing to hand out, the
   * presented cookie cleared, and the error (`401`) rethrown to answer the request.
   */
  private async ifStillLive<T>(save: Promise<T>): Promise<T> {
    try {
      return await save;
    } catch (error) {
      if (error instanceof SessionRevokedError) {
        this.forget();
        this.presentedBy?.clear(this.exchange);
      }
      throw error;
    }
  }

  /** carrier reads → persistence opens. */
  private async open(): Promise<void> {
    try {
      const presented = this.carrier?.read(this.exchange) ?? { kind: 'absent' };
      if (presented.kind === 'absent') {
        return;
      }
      const opened =
        presented.kind === 'value'
          ? await this.runtime.persistence.open(presented.value, this.runtime.now())
          : null;
      if (opened === null) {
        this.carrier?.clear(this.exchange);
        return;
      }
      this.token = opened.token;
      this.contents = this.contentsOf(opened.record);
      this.persisted = true;
      this.presented = true;
      this.presentedBy = this.carrier;
      this.reissue = opened.stale;
      if (this.runtime.options.keys.data.keys.length > 1) {
        this.contents.resealStale();
      }
    } catch (error) {
      this.loadFailed = true;
      throw error;
    } finally {
      this.loaded = true;
    }
  }

  /** Forgets the presented session without reading or ending it; the state counts as loaded. */
  private detachPresented(): void {
    if (this.loading === null) {
      this.exchange.commitBeforeSend(() => this.commit());
      this.loading = Promise.resolve();
      this.loaded = true;
    }
    this.forget();
  }

  /** Leaves this request with no session: nothing to save, nothing to end. */
  private forget(): void {
    this.contents = null;
    this.token = null;
    this.persisted = false;
    this.presented = false;
    this.moves.clear();
    this.reissue = false;
  }

  private loadedContents(): SessionContents | null {
    if (!this.loaded) {
      throw new Error(
        'The session is not loaded yet: take it with @Session() or `await sessionService.current()`',
      );
    }
    return this.contents;
  }

  private ensureContents(): SessionContents {
    const contents = this.loadedContents();
    if (contents !== null) {
      return contents;
    }
    this.token = generateToken();
    const record = { ...this.blankRecord(this.runtime.now()), id: this.idOf(this.token) };
    this.contents = this.contentsOf(record);
    this.persisted = false;
    return this.contents;
  }

  private blankRecord(now: number): SessionRecord {
    return newRecord(now, this.runtime.options, this.exchange.header('user-agent'));
  }

  private idOf(token: string): string {
    return this.runtime.persistence.idOf(token);
  }

  /** The contents of `record` under the current token (whose key seals data at rest). */
  private contentsOf(record: SessionRecord): SessionContents {
    const { persistence, options } = this.runtime;
    const values = new SessionValues(
      persistence.sealsValues ? options.keys.data : null,
      this.token,
    );
    return new SessionContents(record, values, options.maxDataSize);
  }

  /**
   * Puts the session under a fresh token and id, with `plainData` sealed anew for it; the old
   * id, if it exists beyond this request, is ended at commit.
   */
  private moveTo(base: SessionRecord, plainData: ReadonlyMap<string, string>): void {
    if (this.persisted && this.contents !== null) {
      this.moves.add(this.contents.record.id, this.contents.record.userId === null);
    }
    this.token = generateToken();
    this.contents = this.contentsOf({ ...base, id: this.idOf(this.token), data: {} });
    this.contents.adopt(plainData);
    this.persisted = false;
    this.presented = false;
    this.reissue = true;
  }
}
