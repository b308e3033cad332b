import { csrfTokenFor } from '../csrf/csrf-token.js';
import { generateToken, signToken } from '../crypto/session-token.js';
import type { SessionData } from '../interfaces/session-data.interface.js';
import type { SessionTransport } from '../interfaces/session-module-options.interface.js';
import type { SessionRecord } from '../interfaces/session-store.interface.js';
import type { TokenCarrier } from './carriers/token-carrier.js';
import { assertDataKey, decodeValue, encodedSize, encodeValue } from './session-data.codec.js';
import type { SessionExchange } from './session-exchange.js';
import { SessionHandle } from './session-handle.js';
import { newRecord } from './session-record.js';
import type { SessionRuntime } from './session-runtime.js';
import { SessionValues } from './session-values.js';
import { SessionDataTooLargeError } from './session.errors.js';

const MAX_USER_ID_LENGTH = 256;

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
  /** Working copy of the session; `null` while the visitor has none. Data in stored form. */
  private record: SessionRecord | null = null;
  private token: string | null = null;
  /** Whether `record.id` exists beyond this request (false for a new or moved session). */
  private persisted = false;
  /** Whether the session was presented by this request (rather than created by it). */
  private presented = false;
  private carrier: TokenCarrier | null;
  /** Data keys changed since load: new stored value, or `null` when deleted. */
  private readonly changes = new Map<string, string | null>();
  private readonly decoded = new Map<string, unknown>();
  private values: SessionValues;
  /** Ids this request moved away from (regenerate, login): ended at commit. */
  private obsoleteIds: string[] = [];
  /** The client must be handed the session's value at commit. */
  private reissue = false;
  private dataSize: number | null = null;

  constructor(
    private readonly runtime: SessionRuntime,
    private readonly exchange: SessionExchange,
  ) {
    super();
    this.carrier = runtime.carrierFor(exchange);
    this.values = this.valuesFor(null);
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
    return this.presented && this.record !== null;
  }

  get id(): string {
    return this.ensureRecord().id;
  }

  get userId(): string | null {
    return this.loadedRecord()?.userId ?? null;
  }

  get isAuthenticated(): boolean {
    return this.userId !== null;
  }

  get data(): Readonly<Partial<SessionData>> {
    const snapshot: Record<string, unknown> = {};
    for (const key of Object.keys(this.loadedRecord()?.data ?? {})) {
      snapshot[key] = this.get(key as keyof SessionData);
    }
    return Object.freeze(snapshot) as Readonly<Partial<SessionData>>;
  }

  get createdAt(): Date {
    return new Date(this.ensureRecord().createdAt);
  }

  get lastSeenAt(): Date {
    return new Date(this.ensureRecord().lastSeenAt);
  }

  get authenticatedAt(): Date | null {
    const authenticatedAt = this.loadedRecord()?.authenticatedAt ?? null;
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
    const record = this.loadedRecord();
    if (record === null || !Object.hasOwn(record.data, key)) {
      return undefined;
    }
    if (!this.decoded.has(key as string)) {
      const plain = this.values.plain(record.id, key as string, record.data[key as string]);
      this.decoded.set(key as string, plain === null ? undefined : decodeValue(plain));
    }
    return this.decoded.get(key as string) as SessionData[K];
  }

  set<K extends keyof SessionData>(key: K, value: SessionData[K]): void {
    assertDataKey(key);
    if (value === undefined) {
      this.delete(key);
      return;
    }
    const record = this.ensureRecord();
    const stored = this.values.stored(record.id, key, encodeValue(key, value));
    const previous = Object.hasOwn(record.data, key) ? record.data[key] : undefined;
    const size =
      this.currentDataSize() -
      (previous === undefined ? 0 : Buffer.byteLength(key) + Buffer.byteLength(previous)) +
      Buffer.byteLength(key) +
      Buffer.byteLength(stored);
    if (size > this.runtime.options.maxDataSize) {
      throw new SessionDataTooLargeError(key, size, this.runtime.options.maxDataSize);
    }
    record.data[key] = stored;
    this.dataSize = size;
    this.changes.set(key, stored);
    this.decoded.delete(key);
  }

  delete(key: keyof SessionData): void {
    assertDataKey(key);
    const record = this.loadedRecord();
    if (record === null || !Object.hasOwn(record.data, key)) {
      return;
    }
    this.dataSize =
      this.currentDataSize() - Buffer.byteLength(key) - Buffer.byteLength(record.data[key]);
    delete record.data[key];
    this.changes.set(key, null);
    this.decoded.delete(key);
  }

  async regenerate(): Promise<void> {
    await this.load();
    const record = this.ensureRecord();
    this.moveTo(record, this.plainData(Object.keys(record.data)));
  }

  /**
   * Starts an authenticated session for `userId` under a new token (fixation defence): the old
   * session is ended at commit and only `keepOnLogin` keys of its data carry over.
   */
  async login(
    userId: string,
    data: Partial<SessionData> = {},
    options: LoginOptions = {},
  ): Promise<void> {
    if (typeof userId !== 'string' || userId.length === 0 || userId.length > MAX_USER_ID_LENGTH) {
      throw new TypeError(`login() needs a userId string of 1 to ${MAX_USER_ID_LENGTH} characters`);
    }
    const carrier = this.runtime.carriers[options.transport ?? 'cookie'];
    if (carrier === undefined) {
      const transport = options.transport ?? 'cookie';
      throw new TypeError(
        `login() with transport '${transport}' needs '${transport}' in the SessionModule transport option`,
      );
    }
    if (carrier.transport === 'cookie' && !this.exchange.respondable) {
      throw new TypeError(
        "login() here has no HTTP response to set the cookie on: use login(userId, data, { transport: 'header' }) and hand the client session.bearerToken, or log in over HTTP",
      );
    }
    await this.load();
    const kept = this.plainData(
      this.runtime.options.keepOnLogin.filter((key) => Object.hasOwn(this.record?.data ?? {}, key)),
    );
    const now = this.runtime.now();
    this.carrier = carrier;
    this.moveTo({ ...this.blankRecord(now), userId, authenticatedAt: now }, kept);
    for (const [key, value] of Object.entries(data)) {
      this.set(key as keyof SessionData, value as SessionData[keyof SessionData]);
    }
  }

  async destroy(): Promise<void> {
    await this.load();
    const ids = [...this.obsoleteIds, ...(this.persisted && this.record ? [this.record.id] : [])];
    await this.runtime.persistence.end(ids, this.runtime.now());
    this.record = null;
    this.token = null;
    this.values = this.valuesFor(null);
    this.persisted = false;
    this.presented = false;
    this.obsoleteIds = [];
    this.reissue = false;
    this.changes.clear();
    this.decoded.clear();
    this.dataSize = null;
    this.clearCarrier();
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
    const record = this.record;
    const now = this.runtime.now();
    let value: string | null = null;
    if (record !== null) {
      const saved = await persistence.save({
        record,
        token: this.token,
        isNew: !this.persisted,
        changes: this.changes,
        reissue: this.reissue,
        now,
      });
      this.persisted = saved.persisted;
      value = saved.value;
      this.changes.clear();
    }
    if (this.obsoleteIds.length > 0) {
      await persistence.end(this.obsoleteIds, now);
      this.obsoleteIds = [];
    }
    if (value !== null && record !== null && this.carrier !== null) {
      const maxAgeSeconds = Math.max(0, Math.floor((record.absoluteExpiresAt - now) / 1000));
      this.carrier.write(this.exchange, value, maxAgeSeconds, this.presented);
    }
    this.reissue = false;
  }

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
        this.clearCarrier();
        return;
      }
      this.record = opened.record;
      this.token = opened.token;
      this.values = this.valuesFor(opened.token);
      this.persisted = true;
      this.presented = true;
      this.reissue = opened.stale;
      this.resealStaleValues();
    } finally {
      this.loaded = true;
    }
  }

  private loadedRecord(): SessionRecord | null {
    if (!this.loaded) {
      throw new Error(
        'The session is not loaded yet: take it with @Session() or `await sessionService.current()`',
      );
    }
    return this.record;
  }

  private ensureRecord(): SessionRecord {
    const record = this.loadedRecord();
    if (record !== null) {
      return record;
    }
    this.useToken(generateToken());
    this.record = { ...this.blankRecord(this.runtime.now()), id: this.idOf(this.token) };
    this.persisted = false;
    return this.record;
  }

  private blankRecord(now: number): SessionRecord {
    return newRecord(now, this.runtime.options, this.exchange.header('user-agent'));
  }

  private idOf(token: string | null): string {
    return this.runtime.persistence.idOf(token as string);
  }

  private useToken(token: string): void {
    this.token = token;
    this.values = this.valuesFor(token);
  }

  private valuesFor(token: string | null): SessionValues {
    const sealed = this.runtime.persistence.sealsValues;
    return new SessionValues(sealed ? this.runtime.options.keys.data : null, token);
  }

  /**
   * Puts the session under a fresh token and id, with `plainData` sealed anew for it; the old
   * id, if it exists beyond this request, is ended at commit.
   */
  private moveTo(base: SessionRecord, plainData: Map<string, string>): void {
    if (this.persisted && this.record !== null) {
      this.obsoleteIds.push(this.record.id);
    }
    this.useToken(generateToken());
    const record: SessionRecord = { ...base, id: this.idOf(this.token), data: {} };
    this.record = record;
    for (const [key, plain] of plainData) {
      record.data[key] = this.values.stored(record.id, key, plain);
    }
    this.persisted = false;
    this.presented = false;
    this.changes.clear();
    this.decoded.clear();
    this.dataSize = null;
    this.reissue = true;
  }

  /** The JSON text of each key, opened from its stored form; unreadable values are dropped. */
  private plainData(keys: readonly string[]): Map<string, string> {
    const plain = new Map<string, string>();
    const record = this.record;
    for (const key of keys) {
      const stored = record?.data[key];
      const text = stored === undefined ? null : this.values.plain(record!.id, key, stored);
      if (text !== null) {
        plain.set(key, text);
      }
    }
    return plain;
  }

  /** After a key rotation: values sealed under an older key are sealed again under the primary. */
  private resealStaleValues(): void {
    const record = this.record;
    if (record === null || this.runtime.options.keys.data.keys.length < 2) {
      return;
    }
    for (const [key, stored] of Object.entries(record.data)) {
      if (this.values.isStale(stored)) {
        const plain = this.values.plain(record.id, key, stored);
        if (plain !== null) {
          record.data[key] = this.values.stored(record.id, key, plain);
          this.changes.set(key, record.data[key]);
        }
      }
    }
  }

  private currentDataSize(): number {
    this.dataSize ??= encodedSize(this.record?.data ?? {});
    return this.dataSize;
  }

  private clearCarrier(): void {
    this.carrier?.clear(this.exchange);
  }
}
