import { HttpException, HttpStatus, Logger } from '@nestjs/common';
import { hkdfSync } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  MAX_COOKIE_HEADER_BYTES,
  readSessionCookie,
  serializeClearingCookie,
  serializeSessionCookie,
  writeSessionCookie,
} from '../cookie/session-cookie.js';
import { csrfTokenFor } from '../csrf/csrf-token.js';
import type { DerivedKey } from '../crypto/keyring.js';
import { open, openRemembered, seal, sealedKeyId } from '../crypto/sealed-box.js';
import {
  generateToken,
  sessionIdOf,
  signToken,
  verifySignedToken,
} from '../crypto/session-token.js';
import type { SessionData } from '../interfaces/session-data.interface.js';
import type { SessionTransport } from '../interfaces/session-module-options.interface.js';
import type { SessionRecord, SessionTouch } from '../interfaces/session-store.interface.js';
import {
  assertDataKey,
  decodeValue,
  dropPrototypeKeys,
  encodedSize,
  encodeValue,
} from './session-data.codec.js';
import { recordRevocation, userNotBeforeId } from './revocation.js';
import { SessionHandle } from './session-handle.js';
import type { SessionRuntime } from './session-runtime.js';
import {
  failClosed,
  SessionCookieTooLargeError,
  SessionDataTooLargeError,
} from './session.errors.js';

const logger = new Logger('SessionModule');
const MAX_USER_AGENT_LENGTH = 256;
const MAX_USER_ID_LENGTH = 256;
const BEARER = /^Bearer ([A-Za-z0-9._-]{1,4096})$/i;
/**
 * Response header carrying a bearer token re-signed under the current secret, sent when the
 * request's token was signed by an older one (secret rotation). Clients should replace theirs.
 */
export const REISSUED_TOKEN_HEADER = 'x-session-token';

/** What the response must say about the session cookie. */
type CookieIntent = 'none' | 'issue' | 'clear';

/** How `login()` hands the new session to the client. */
export interface LoginOptions {
  /** `'cookie'` (default) sets the session cookie; `'header'` sets none: read `bearerToken`. */
  transport?: SessionTransport;
}

/**
 * One request's view of its session: loaded lazily, changed in memory, committed once before
 * the response is sent. Nothing here runs for a request that never touches its session.
 */
export class RequestSession extends SessionHandle {
  private loading: Promise<void> | null = null;
  private loaded = false;
  /** Working copy of the session; `null` while the visitor has none. Data in stored form. */
  private record: SessionRecord | null = null;
  private token: string | null = null;
  /** Whether `record.id` exists in the store (false for a new or regenerated session). */
  private persisted = false;
  /** Whether the session was presented by this request (rather than created by it). */
  private presented = false;
  private transport: SessionTransport = 'cookie';
  /** Data keys changed since load: new stored value, or `null` when deleted. */
  private readonly changes = new Map<string, string | null>();
  private readonly decoded = new Map<string, unknown>();
  /** Per-session data-encryption keys, by key id (encryption at rest). */
  private readonly dataKeys = new Map<string, DerivedKey>();
  /** Ids this request moved away from (regenerate, login): deleted at commit. */
  private obsoleteIds: string[] = [];
  private cookieIntent: CookieIntent = 'none';
  private dataSize: number | null = null;

  constructor(
    private readonly runtime: SessionRuntime,
    private readonly request: IncomingMessage,
    private readonly response: ServerResponse,
  ) {
    super();
  }

  /** Loads the session once; later calls share the first load. Rejects with `503` on store failure. */
  load(): Promise<void> {
    if (this.loading === null) {
      this.commitBeforeResponseEnds();
      this.loading = this.runtime.options.stateless
        ? this.readSealedCookie()
        : this.readFromStore();
    }
    return this.loading;
  }

  /**
   * Holds the response's `end` until the session is saved, so a client that gets a `2xx` can
   * rely on the save. Installed on first use only: a request that never touches its session
   * keeps the response as it is. A response with an error status saves nothing (like a failed
   * transaction); a failed save replaces the response with the save's error (`503`, `413`).
   */
  private commitBeforeResponseEnds(): void {
    const response = this.response;
    const end = response.end;
    response.end = ((...args: Parameters<ServerResponse['end']>) => {
      response.end = end;
      const finish = () => end.apply(response, args);
      if (response.statusCode >= 400) {
        return finish();
      }
      this.commit().then(finish, (error: unknown) => answerWithError(response, end, error));
      return response;
    }) as ServerResponse['end'];
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
    return (
      this.transport === 'header' ||
      (this.runtime.options.transports.header && this.request.headers.authorization !== undefined)
    );
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
    if (this.transport !== 'header' || this.token === null) {
      return null;
    }
    return signToken(this.token, this.runtime.options.signingKeys[0]);
  }

  get<K extends keyof SessionData>(key: K): SessionData[K] | undefined {
    const data = this.loadedRecord()?.data;
    if (data === undefined || !Object.hasOwn(data, key)) {
      return undefined;
    }
    if (!this.decoded.has(key as string)) {
      const plain = this.plainForm(key as string, data[key as string]);
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
    const stored = this.storedForm(key, encodeValue(key, value));
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
   * session is deleted at commit and only `keepOnLogin` keys of its data carry over.
   */
  async login(
    userId: string,
    data: Partial<SessionData> = {},
    options: LoginOptions = {},
  ): Promise<void> {
    if (typeof userId !== 'string' || userId.length === 0 || userId.length > MAX_USER_ID_LENGTH) {
      throw new TypeError(`login() needs a userId string of 1 to ${MAX_USER_ID_LENGTH} characters`);
    }
    const transport = options.transport ?? 'cookie';
    if (!this.runtime.options.transports[transport]) {
      throw new TypeError(
        `login() with transport '${transport}' needs '${transport}' in the SessionModule transport option`,
      );
    }
    await this.load();
    const kept = this.plainData(
      this.runtime.options.keepOnLogin.filter((key) => Object.hasOwn(this.record?.data ?? {}, key)),
    );
    const now = this.runtime.now();
    this.transport = transport;
    this.moveTo({ ...this.newRecord(now), userId, authenticatedAt: now }, kept);
    for (const [key, value] of Object.entries(data)) {
      this.set(key as keyof SessionData, value as SessionData[keyof SessionData]);
    }
  }

  async destroy(): Promise<void> {
    await this.load();
    const { store, options } = this.runtime;
    if (options.stateless) {
      const ids = [...this.obsoleteIds, ...(this.presented && this.record ? [this.record.id] : [])];
      const now = this.runtime.now();
      await failClosed(
        Promise.all(ids.map((id) => recordRevocation(store, id, now, options.absoluteTimeoutMs))),
      );
    } else {
      const ids = [...this.obsoleteIds, ...(this.persisted && this.record ? [this.record.id] : [])];
      await failClosed(Promise.all(ids.map((id) => store.destroy(id))));
    }
    this.record = null;
    this.token = null;
    this.persisted = false;
    this.presented = false;
    this.obsoleteIds = [];
    this.changes.clear();
    this.decoded.clear();
    this.dataKeys.clear();
    this.dataSize = null;
    if (this.transport === 'cookie') {
      this.clearCookie();
    }
  }

  /**
   * Saves what this request changed, in one store call, and puts the cookie on the response.
   * A session that nothing touched costs nothing; one that changed nothing is only touched,
   * at most every `touchAfter`.
   */
  async commit(): Promise<void> {
    if (this.loading === null) {
      return;
    }
    await this.loading;
    if (this.runtime.options.stateless) {
      await this.commitSealedCookie();
      return;
    }
    const { store, options } = this.runtime;
    const record = this.record;
    if (record !== null) {
      const now = this.runtime.now();
      const touch = this.touchAt(now, record);
      const ttlMs = Math.max(1, touch.expiresAt - now);
      if (!this.persisted) {
        if (record.userId !== null || Object.keys(record.data).length > 0) {
          Object.assign(record, touch);
          await failClosed(
            store.set(record, ttlMs, record.userId === null ? undefined : options.sessionLimit),
          );
          this.persisted = true;
          this.cookieIntent = 'issue';
        }
      } else if (this.changes.size > 0) {
        const delta = { set: {} as Record<string, string>, deleted: [] as string[] };
        for (const [key, stored] of this.changes) {
          if (stored === null) {
            delta.deleted.push(key);
          } else {
            delta.set[key] = stored;
          }
        }
        await failClosed(store.update(record.id, delta, touch, ttlMs));
        Object.assign(record, touch);
      } else if (now - record.lastSeenAt >= options.touchAfterMs) {
        await failClosed(store.touch(record.id, touch, ttlMs));
        Object.assign(record, touch);
      }
      this.changes.clear();
    }
    if (this.obsoleteIds.length > 0) {
      await failClosed(Promise.all(this.obsoleteIds.map((id) => store.destroy(id))));
      this.obsoleteIds = [];
    }
    if (this.cookieIntent === 'issue' && this.transport === 'header' && this.presented) {
      // A bearer token signed by an older secret: hand the client its re-signed token.
      this.response.setHeader(REISSUED_TOKEN_HEADER, this.bearerToken as string);
    }
    if (
      this.cookieIntent === 'issue' &&
      this.transport === 'cookie' &&
      this.persisted &&
      record !== null &&
      this.token !== null
    ) {
      writeSessionCookie(
        this.response,
        options.cookie.name,
        this.issuedCookie(record, signToken(this.token, options.signingKeys[0])),
      );
    }
  }

  /** The signed token the request presented, from the header or the cookie; `null` if none. */
  private presentedToken(): string | null {
    const { options } = this.runtime;
    const authorization = options.transports.header
      ? this.request.headers.authorization
      : undefined;
    if (authorization !== undefined) {
      this.transport = 'header';
      return BEARER.exec(authorization)?.[1] ?? null;
    }
    if (!options.transports.cookie) {
      return null;
    }
    const reading = readSessionCookie(this.request.headers.cookie, options.cookie.name);
    if (reading.kind === 'invalid') {
      this.clearCookie();
    }
    return reading.kind === 'value' ? reading.value : null;
  }

  /** Refuses what the request presented: no session, and the cookie (if that was it) cleared. */
  private refusePresented(): void {
    if (this.transport === 'cookie') {
      this.clearCookie();
    }
  }

  private async readFromStore(): Promise<void> {
    try {
      const signed = this.presentedToken();
      if (signed === null) {
        return;
      }
      const { options, store } = this.runtime;
      const verified = verifySignedToken(signed, options.signingKeys);
      if (verified === null) {
        this.refusePresented();
        return;
      }
      const id = sessionIdOf(verified.token);
      const record = await failClosed(store.get(id));
      if (record === null || this.isExpired(record)) {
        if (record !== null) {
          await failClosed(store.destroy(id));
        }
        this.refusePresented();
        return;
      }
      dropPrototypeKeys(record.data);
      this.record = record;
      this.token = verified.token;
      this.persisted = true;
      this.presented = true;
      if (verified.keyIndex > 0) {
        // Signed by an older secret: re-sign with the current one on this response.
        this.cookieIntent = 'issue';
      }
      this.resealStaleValues();
    } finally {
      this.loaded = true;
    }
  }

  private async readSealedCookie(): Promise<void> {
    try {
      const sealed = this.presentedToken();
      if (sealed === null) {
        return;
      }
      const { options, store } = this.runtime;
      const key = options.keys.sealing.find(sealedKeyId(sealed) ?? '');
      const json = key === undefined ? null : openRemembered(sealed, key, options.cookie.name);
      const record = json === null ? null : parseSealedRecord(json);
      if (record === null || this.isExpired(record)) {
        this.refusePresented();
        return;
      }
      const [revoked, notBefore] = await failClosed(
        Promise.all([
          store.get(record.id),
          record.userId === null ? null : store.get(userNotBeforeId(record.userId)),
        ]),
      );
      if (revoked !== null || (notBefore !== null && notBefore.createdAt > record.createdAt)) {
        this.refusePresented();
        return;
      }
      this.record = record;
      this.persisted = true;
      this.presented = true;
      if (key !== options.keys.sealing.primary) {
        this.cookieIntent = 'issue';
      }
    } finally {
      this.loaded = true;
    }
  }

  private async commitSealedCookie(): Promise<void> {
    if (this.obsoleteIds.length > 0) {
      // The sealed cookies this request moved away from stay valid until revoked.
      const { store, options } = this.runtime;
      await failClosed(
        Promise.all(
          this.obsoleteIds.map((id) =>
            recordRevocation(store, id, this.runtime.now(), options.absoluteTimeoutMs),
          ),
        ),
      );
      this.obsoleteIds = [];
    }
    const record = this.record;
    if (record === null || this.transport !== 'cookie') {
      return;
    }
    const now = this.runtime.now();
    const isNew = !this.persisted;
    if (isNew && record.userId === null && Object.keys(record.data).length === 0) {
      return;
    }
    if (
      isNew ||
      this.changes.size > 0 ||
      this.cookieIntent === 'issue' ||
      now - record.lastSeenAt >= this.runtime.options.touchAfterMs
    ) {
      Object.assign(record, this.touchAt(now, record));
      const { cookie, keys } = this.runtime.options;
      const setCookie = this.issuedCookie(
        record,
        seal(JSON.stringify(record), keys.sealing.primary, cookie.name),
      );
      if (Buffer.byteLength(setCookie) > MAX_COOKIE_HEADER_BYTES) {
        throw new SessionCookieTooLargeError(Buffer.byteLength(setCookie), MAX_COOKIE_HEADER_BYTES);
      }
      writeSessionCookie(this.response, cookie.name, setCookie);
      this.persisted = true;
      this.changes.clear();
    }
  }

  private isExpired(record: SessionRecord): boolean {
    const now = this.runtime.now();
    return record.expiresAt <= now || record.absoluteExpiresAt <= now;
  }

  private touchAt(now: number, record: SessionRecord): SessionTouch {
    return {
      lastSeenAt: now,
      expiresAt: Math.min(now + this.runtime.options.idleTimeoutMs, record.absoluteExpiresAt),
    };
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
    this.record = { ...this.newRecord(this.runtime.now()), id: this.idOf(this.token as string) };
    this.persisted = false;
    return this.record;
  }

  private newRecord(now: number): SessionRecord {
    const { idleTimeoutMs, absoluteTimeoutMs } = this.runtime.options;
    const userAgent = this.request.headers['user-agent'];
    return {
      id: '',
      userId: null,
      data: {},
      createdAt: now,
      lastSeenAt: now,
      authenticatedAt: null,
      expiresAt: now + Math.min(idleTimeoutMs, absoluteTimeoutMs),
      absoluteExpiresAt: now + absoluteTimeoutMs,
      userAgent: userAgent === undefined ? null : userAgent.slice(0, MAX_USER_AGENT_LENGTH),
    };
  }

  /** Stateless sessions have no token to protect: their id is random and public. */
  private idOf(token: string): string {
    return this.runtime.options.stateless ? token : sessionIdOf(token);
  }

  private useToken(token: string): void {
    this.token = token;
    this.dataKeys.clear();
  }

  /**
   * Puts the session under a fresh token and id, with `plainData` sealed anew for it; the old
   * id, if stored, is deleted at commit (or revoked, in stateless mode).
   */
  private moveTo(base: SessionRecord, plainData: Map<string, string>): void {
    if (
      this.persisted &&
      this.record !== null &&
      (this.presented || !this.runtime.options.stateless)
    ) {
      this.obsoleteIds.push(this.record.id);
    }
    this.useToken(generateToken());
    const record: SessionRecord = { ...base, id: this.idOf(this.token as string), data: {} };
    this.record = record;
    for (const [key, plain] of plainData) {
      record.data[key] = this.storedForm(key, plain);
    }
    this.persisted = false;
    this.presented = false;
    this.changes.clear();
    this.decoded.clear();
    this.dataSize = null;
    this.cookieIntent = 'issue';
  }

  /** The JSON text of each key, opened from its stored form; unreadable values are dropped. */
  private plainData(keys: readonly string[]): Map<string, string> {
    const plain = new Map<string, string>();
    for (const key of keys) {
      const stored = this.record?.data[key];
      const text = stored === undefined ? null : this.plainForm(key, stored);
      if (text !== null) {
        plain.set(key, text);
      }
    }
    return plain;
  }

  /** What the store keeps for a value: its JSON, sealed when encrypting at rest. */
  private storedForm(key: string, json: string): string {
    if (!this.runtime.options.encryptAtRest || this.runtime.options.stateless) {
      return json;
    }
    const record = this.record as SessionRecord;
    return seal(json, this.dataKey(this.runtime.options.keys.data.primary), `${record.id}/${key}`);
  }

  /** The JSON of a stored value, or `null` if it does not open (tampered, moved, unknown key). */
  private plainForm(key: string, stored: string): string | null {
    if (!this.runtime.options.encryptAtRest || this.runtime.options.stateless) {
      return stored;
    }
    const master = this.runtime.options.keys.data.find(sealedKeyId(stored) ?? '');
    const record = this.record as SessionRecord;
    return master === undefined ? null : open(stored, this.dataKey(master), `${record.id}/${key}`);
  }

  /**
   * The session's own data key under a master key: HKDF of the master key and the session
   * token. The store never sees the token, so a store dump cannot be opened even with the secret.
   */
  private dataKey(master: DerivedKey): DerivedKey {
    let key = this.dataKeys.get(master.id);
    if (key === undefined) {
      const derived = hkdfSync('sha256', master.key, this.token as string, 'session-data', 32);
      key = { id: master.id, key: Buffer.from(derived) };
      this.dataKeys.set(master.id, key);
    }
    return key;
  }

  /** After a key rotation: values sealed under an older key are sealed again under the primary. */
  private resealStaleValues(): void {
    const { encryptAtRest, keys } = this.runtime.options;
    const record = this.record;
    if (!encryptAtRest || keys.data.keys.length < 2 || record === null) {
      return;
    }
    for (const [key, stored] of Object.entries(record.data)) {
      if (sealedKeyId(stored) !== keys.data.primary.id) {
        const plain = this.plainForm(key, stored);
        if (plain !== null) {
          record.data[key] = this.storedForm(key, plain);
          this.changes.set(key, record.data[key]);
        }
      }
    }
  }

  private currentDataSize(): number {
    this.dataSize ??= encodedSize(this.record?.data ?? {});
    return this.dataSize;
  }

  private issuedCookie(record: SessionRecord, value: string): string {
    const { cookie } = this.runtime.options;
    const maxAgeSeconds = cookie.persistent
      ? Math.max(0, Math.floor((record.absoluteExpiresAt - this.runtime.now()) / 1000))
      : undefined;
    return serializeSessionCookie(cookie, value, maxAgeSeconds);
  }

  private clearCookie(): void {
    this.cookieIntent = 'clear';
    const { cookie } = this.runtime.options;
    writeSessionCookie(this.response, cookie.name, serializeClearingCookie(cookie));
  }
}

/** Replaces a response whose session could not be saved with the save's error, as JSON. */
function answerWithError(
  response: ServerResponse,
  end: ServerResponse['end'],
  error: unknown,
): void {
  const known = error instanceof HttpException;
  if (!known) {
    logger.error('Saving the session failed', error instanceof Error ? error.stack : undefined);
  }
  if (!response.headersSent) {
    response.statusCode = known ? error.getStatus() : HttpStatus.INTERNAL_SERVER_ERROR;
    for (const header of ['content-length', 'etag', 'last-modified', 'content-encoding']) {
      response.removeHeader(header);
    }
    response.setHeader('content-type', 'application/json; charset=utf-8');
  }
  const body = known
    ? error.getResponse()
    : { statusCode: HttpStatus.INTERNAL_SERVER_ERROR, message: 'Internal server error' };
  end.call(response, JSON.stringify(body), 'utf8', () => undefined);
}

const RECORD_NUMBER_FIELDS = ['createdAt', 'lastSeenAt', 'expiresAt', 'absoluteExpiresAt'] as const;

/** A session record from an opened sealed cookie, or `null` when its shape is wrong. */
function parseSealedRecord(json: string): SessionRecord | null {
  const parsed = decodeValue(json) as Partial<SessionRecord> | undefined;
  if (
    typeof parsed !== 'object' ||
    parsed === null ||
    typeof parsed.id !== 'string' ||
    (parsed.userId !== null && typeof parsed.userId !== 'string') ||
    typeof parsed.data !== 'object' ||
    parsed.data === null ||
    !Object.values(parsed.data).every((value) => typeof value === 'string') ||
    !RECORD_NUMBER_FIELDS.every((field) => typeof parsed[field] === 'number')
  ) {
    return null;
  }
  return {
    id: parsed.id,
    userId: parsed.userId ?? null,
    data: { ...parsed.data },
    createdAt: parsed.createdAt as number,
    lastSeenAt: parsed.lastSeenAt as number,
    authenticatedAt: typeof parsed.authenticatedAt === 'number' ? parsed.authenticatedAt : null,
    expiresAt: parsed.expiresAt as number,
    absoluteExpiresAt: parsed.absoluteExpiresAt as number,
    userAgent: typeof parsed.userAgent === 'string' ? parsed.userAgent : null,
  };
}
