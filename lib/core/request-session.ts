import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  readSessionCookie,
  serializeClearingCookie,
  serializeSessionCookie,
  writeSessionCookie,
} from '../cookie/session-cookie.js';
import {
  generateToken,
  sessionIdOf,
  signToken,
  verifySignedToken,
} from '../crypto/session-token.js';
import type { SessionData } from '../interfaces/session-data.interface.js';
import type { SessionRecord, SessionTouch } from '../interfaces/session-store.interface.js';
import { assertDataKey, decodeValue, encodedSize, encodeValue } from './session-data.codec.js';
import { SessionHandle } from './session-handle.js';
import type { SessionRuntime } from './session-runtime.js';
import { failClosed, SessionDataTooLargeError } from './session.errors.js';

const MAX_USER_AGENT_LENGTH = 256;
const MAX_USER_ID_LENGTH = 256;

/** What the response must say about the session cookie. */
type CookieIntent = 'none' | 'issue' | 'clear';

/**
 * One request's view of its session: loaded lazily, changed in memory, committed once before
 * the response is sent. Nothing here runs for a request that never touches its session.
 */
export class RequestSession extends SessionHandle {
  private loading: Promise<void> | null = null;
  private loaded = false;
  /** Working copy of the session; `null` while the visitor has none. */
  private record: SessionRecord | null = null;
  private token: string | null = null;
  /** Whether `record.id` exists in the store (false for a new or regenerated session). */
  private persisted = false;
  /** Data keys changed since load: new encoded value, or `null` when deleted. */
  private readonly changes = new Map<string, string | null>();
  private readonly decoded = new Map<string, unknown>();
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
    this.loading ??= this.readFromStore();
    return this.loading;
  }

  get isLoaded(): boolean {
    return this.loaded;
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

  get<K extends keyof SessionData>(key: K): SessionData[K] | undefined {
    const encoded = this.loadedRecord()?.data[key as string];
    if (encoded === undefined || !Object.hasOwn(this.record?.data ?? {}, key)) {
      return undefined;
    }
    if (!this.decoded.has(key as string)) {
      this.decoded.set(key as string, decodeValue(encoded));
    }
    return this.decoded.get(key as string) as SessionData[K];
  }

  set<K extends keyof SessionData>(key: K, value: SessionData[K]): void {
    assertDataKey(key);
    if (value === undefined) {
      this.delete(key);
      return;
    }
    const encoded = encodeValue(key, value);
    const record = this.ensureRecord();
    const previous = Object.hasOwn(record.data, key) ? record.data[key] : undefined;
    const size =
      this.currentDataSize() -
      (previous === undefined ? 0 : Buffer.byteLength(key) + Buffer.byteLength(previous)) +
      Buffer.byteLength(key) +
      Buffer.byteLength(encoded);
    if (size > this.runtime.options.maxDataSize) {
      throw new SessionDataTooLargeError(key, size, this.runtime.options.maxDataSize);
    }
    record.data[key] = encoded;
    this.dataSize = size;
    this.changes.set(key, encoded);
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
    this.moveTo({ ...record, data: { ...record.data } });
  }

  /**
   * Starts an authenticated session for `userId` under a new token (fixation defence): the old
   * session is deleted at commit and only `keepOnLogin` keys of its data carry over.
   */
  async login(userId: string, data: Partial<SessionData> = {}): Promise<void> {
    if (typeof userId !== 'string' || userId.length === 0 || userId.length > MAX_USER_ID_LENGTH) {
      throw new TypeError(`login() needs a userId string of 1 to ${MAX_USER_ID_LENGTH} characters`);
    }
    await this.load();
    const kept: Record<string, string> = {};
    for (const key of this.runtime.options.keepOnLogin) {
      const encoded = this.record?.data[key];
      if (encoded !== undefined && Object.hasOwn(this.record?.data ?? {}, key)) {
        kept[key] = encoded;
      }
    }
    const now = this.runtime.now();
    this.moveTo({ ...this.newRecord(now), userId, authenticatedAt: now, data: kept });
    this.dataSize = null;
    for (const [key, value] of Object.entries(data)) {
      this.set(key as keyof SessionData, value as SessionData[keyof SessionData]);
    }
  }

  async destroy(): Promise<void> {
    await this.load();
    const ids = [...this.obsoleteIds, ...(this.persisted && this.record ? [this.record.id] : [])];
    await failClosed(Promise.all(ids.map((id) => this.runtime.store.destroy(id))));
    this.record = null;
    this.token = null;
    this.persisted = false;
    this.obsoleteIds = [];
    this.changes.clear();
    this.decoded.clear();
    this.dataSize = null;
    this.clearCookie();
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
    const { store, options } = this.runtime;
    const record = this.record;
    if (record !== null) {
      const now = this.runtime.now();
      const touch: SessionTouch = {
        lastSeenAt: now,
        expiresAt: Math.min(now + options.idleTimeoutMs, record.absoluteExpiresAt),
      };
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
        for (const [key, encoded] of this.changes) {
          if (encoded === null) {
            delta.deleted.push(key);
          } else {
            delta.set[key] = encoded;
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
    if (this.cookieIntent === 'issue' && this.persisted && record !== null && this.token !== null) {
      writeSessionCookie(this.response, options.cookie.name, this.issuedCookie(record, this.token));
    }
  }

  private async readFromStore(): Promise<void> {
    const { options, store } = this.runtime;
    const reading = readSessionCookie(this.request.headers.cookie, options.cookie.name);
    if (reading.kind === 'absent') {
      this.loaded = true;
      return;
    }
    const verified =
      reading.kind === 'value' ? verifySignedToken(reading.value, options.signingKeys) : null;
    if (verified === null) {
      this.clearCookie();
      this.loaded = true;
      return;
    }
    const id = sessionIdOf(verified.token);
    const record = await failClosed(store.get(id));
    const now = this.runtime.now();
    if (record === null || record.expiresAt <= now || record.absoluteExpiresAt <= now) {
      if (record !== null) {
        await failClosed(store.destroy(id));
      }
      this.clearCookie();
      this.loaded = true;
      return;
    }
    this.record = record;
    this.token = verified.token;
    this.persisted = true;
    if (verified.keyIndex > 0) {
      // Signed by an older secret: re-sign with the current one on this response.
      this.cookieIntent = 'issue';
    }
    this.loaded = true;
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
    this.token = generateToken();
    this.record = { ...this.newRecord(this.runtime.now()), id: sessionIdOf(this.token) };
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

  /** Puts the session under a fresh token; the old id, if stored, is deleted at commit. */
  private moveTo(record: SessionRecord): void {
    if (this.persisted && this.record !== null) {
      this.obsoleteIds.push(this.record.id);
    }
    this.token = generateToken();
    this.record = { ...record, id: sessionIdOf(this.token) };
    this.persisted = false;
    this.changes.clear();
    this.decoded.clear();
    this.cookieIntent = 'issue';
  }

  private currentDataSize(): number {
    this.dataSize ??= encodedSize(this.record?.data ?? {});
    return this.dataSize;
  }

  private issuedCookie(record: SessionRecord, token: string): string {
    const { cookie, signingKeys } = this.runtime.options;
    const maxAgeSeconds = cookie.persistent
      ? Math.max(0, Math.floor((record.absoluteExpiresAt - this.runtime.now()) / 1000))
      : undefined;
    return serializeSessionCookie(cookie, signToken(token, signingKeys[0]), maxAgeSeconds);
  }

  private clearCookie(): void {
    this.cookieIntent = 'clear';
    const { cookie } = this.runtime.options;
    writeSessionCookie(this.response, cookie.name, serializeClearingCookie(cookie));
  }
}
