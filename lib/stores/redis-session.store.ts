import {
  SessionDataTooLargeError,
  SessionLimitExceededError,
  SessionRevokedError,
} from '../core/session.errors.js';
import type {
  RevocationStore,
  RevocationSubject,
} from '../interfaces/revocation-store.interface.js';
import type {
  SessionDelta,
  SessionRecord,
  SessionStore,
  SessionTouch,
  SessionUpdateOptions,
  SessionWriteOptions,
} from '../interfaces/session-store.interface.js';
import {
  CLAIM_SCRIPT,
  DATA_FIELD_PREFIX,
  DESTROY_OWNED_SCRIPT,
  FIELD,
  INDEX_SCRIPT,
  MOVE_SCRIPT,
  PRUNE_SCRIPT,
  UPDATE_SCRIPT,
  WRITE_SCRIPT,
} from './redis-scripts.js';
import { RedisRevocations, type RedisRevocationClient } from './redis-revocations.js';

/**
 * What `RedisStore` needs from its client: an ioredis `Redis` (single node) or `Cluster`, v5 or
 * v6, satisfies it. Declared structurally so that the package has no type or runtime
 * dependency on ioredis for apps that do not use this store.
 */
export interface RedisStoreClient {
  /** `true` for an ioredis `Cluster`. */
  readonly isCluster: boolean;
  defineCommand(
    name: string,
    definition: { lua: string; numberOfKeys?: number; readOnly?: boolean },
  ): void;
  hgetall(key: string): Promise<Record<string, string>>;
  hget(key: string, field: string): Promise<string | null>;
  zrange(key: string, start: string, stop: string): Promise<string[]>;
  del(key: string): Promise<number>;
  /** Ends the connection once pending replies are in. Used only with `closeClient: true`. */
  quit?(): Promise<unknown>;
  /** Drops the connection at once and stops reconnecting; `close()` falls back to it when `quit()` fails. */
  disconnect?(): void;
}

/** Options of `RedisStore`. */
export interface RedisStoreOptions {
  /**
   * The app's own ioredis client: `new Redis(url, options)` or `new Cluster(nodes, options)`.
   * The store closes it only with `closeClient: true`. For fail-closed behaviour configure it so
   * that a command fails fast instead of waiting for Redis to come back:
   *
   * ```ts
   * new Redis(process.env.REDIS_URL, {
   *   enableOfflineQueue: false, // reject at once while disconnected
   *   maxRetriesPerRequest: 1,   // or a small number: no unbounded retrying
   *   commandTimeout: 1_000,     // a stalled server fails the request, not hangs it
   *   enableAutoPipelining: true, // commands of one tick share one write under load
   * });
   * ```
   */
  client: RedisStoreClient;
  /**
   * Prefix of every key the store writes. Default `'sess:'`. Use one per app (or per
   * environment) sharing a Redis. Must not contain `{` or `}`: the store places hash tags itself.
   */
  prefix?: string;
  /**
   * Let the store own the client: `close()`, which `SessionModule` calls when the app shuts
   * down (`app.close()`, or a signal with `app.enableShutdownHooks()`), then `quit()`s it, or
   * `disconnect()`s it when `quit()` fails (Redis unreachable), so that an open connection or a
   * reconnect loop does not keep the process alive. Default `false`: the client is the app's,
   * which may use it for other things and closes it itself (e.g. in its own
   * `onApplicationShutdown` hook).
   *
   * @example
   * ```ts
   * new RedisStore({ client: new Redis(process.env.REDIS_URL!), closeClient: true })
   * ```
   */
  closeClient?: boolean;
}

/** Arguments a defined script takes: keys then arguments, flattened. */
type ScriptCall = (...args: (string | number)[]) => Promise<unknown>;

/** The scripts `defineCommand` adds to the client, under names unlikely to clash with an app's. */
interface ScriptClient {
  nestSecureSessionWrite: ScriptCall;
  nestSecureSessionMove: ScriptCall;
  nestSecureSessionClaim: ScriptCall;
  nestSecureSessionUpdate: ScriptCall;
  nestSecureSessionIndex: ScriptCall;
  nestSecureSessionPrune: ScriptCall;
  nestSecureSessionDestroyOwned: ScriptCall;
}

type IndexReply = ['ok' | 'check' | 'refuse' | 'revoked', string[]];
/** `UPDATE_SCRIPT`: 1 applied, 0 the session is gone, 2 too large (with the size). */
type UpdateReply = [0 | 1 | 2, number];
/** `DESTROY_OWNED_SCRIPT`: deleted (0|1), and the id a tombstone points to, or ''. */
type DestroyReply = [0 | 1, string];

const SCRIPTS: Record<keyof ScriptClient, { lua: string; numberOfKeys?: number }> = {
  nestSecureSessionWrite: { lua: WRITE_SCRIPT, numberOfKeys: 1 },
  nestSecureSessionMove: { lua: MOVE_SCRIPT, numberOfKeys: 2 },
  nestSecureSessionClaim: { lua: CLAIM_SCRIPT, numberOfKeys: 1 },
  nestSecureSessionUpdate: { lua: UPDATE_SCRIPT, numberOfKeys: 1 },
  // Four keys on a Cluster, five or six on a single node: the key count is passed per call.
  nestSecureSessionIndex: { lua: INDEX_SCRIPT },
  nestSecureSessionPrune: { lua: PRUNE_SCRIPT, numberOfKeys: 4 },
  nestSecureSessionDestroyOwned: { lua: DESTROY_OWNED_SCRIPT, numberOfKeys: 1 },
};

/** Tombstones `destroyByUser` follows from one listed id (moves made while it runs). */
const MAX_FOLLOWED_MOVES = 16;

/**
 * Sessions in Redis, for apps that run more than one instance. Takes the app's own ioredis
 * client, single node or Cluster.
 *
 * **Layout.** A session is one hash, `{prefix}{<id>}`: metadata fields (`userId`, `createdAt`,
 * `lastSeenAt`, `authenticatedAt`, `expiresAt`, `absoluteExpiresAt`, `userAgent`, and
 * `dataSize`, the bytes `maxDataSize` measures) and one field per data key, `d:<key>` (so a
 * data key can never overwrite metadata). Values are stored and returned verbatim. The hash's TTL is always what is left of min(idle, absolute) expiry.
 * A user's sessions are indexed in keys that share the hash tag `{u:<userId>}`:
 * `{prefix}{u:<userId>}:idx` (ids by creation time), `:exp` (ids by absolute expiry), `:ev`
 * (ids being evicted) and `:mv` (ids being moved, Cluster only); the index keys expire with
 * the user's longest-lived session. A session moved to a new id leaves a tombstone, a hash with
 * only `movedTo`, for the rest of its TTL.
 *
 * **Cost.** `get` is one `HGETALL`; `update` and `touch` one `EVALSHA`; `destroy` one `DEL`. On
 * a single node every `set` is one `EVALSHA`: an anonymous session, a login (index and limit
 * included), and a move to a new id (`replaces`). On a Cluster a login is two (the session,
 * then the index), a move of an authenticated session three (plus a pruning command sent
 * without waiting), a move of an anonymous one two. A check round is added when the user is at
 * `maxSessionsPerUser`, and the deletion of evicted sessions.
 *
 * **Why this works on Cluster.** `get(id)` knows only the id, so the session hash must be
 * addressable by the id alone: it sits in its own slot. A user's index cannot share that slot
 * (a user has many sessions), nor can the new id of a moved session share the old one's, so
 * no script ever touches two slots. Consistency across them comes from ordering and from
 * never letting a gone session count as live:
 * - the per-user limit is counted and reserved by one script in the user's slot, so concurrent
 *   logins of one user serialize there and can never exceed it;
 * - a login writes the session hash *before* indexing it, so an indexed id always has (or
 *   had) a hash: an eviction or a revoke-all can never miss a hash that is written afterwards.
 *   A refused login deletes the hash it wrote, before it answers; its token was never handed
 *   out. On a single node both steps are one script;
 * - a move (`replaces`) is decided where the replaced hash lives: the old session ends (its
 *   hash becomes a tombstone) only if it is still live, else the move is undone (the new hash
 *   deleted, its token never handed out) and `set` rejects with `SessionRevokedError`. The
 *   order is: write the new hash, index it (the old id joins `mv`: it no longer counts but stays
 *   listed for revoke-all), end the old hash. A revoke-all that listed the old id before the
 *   move either deletes it first (the move then fails) or finds the tombstone and follows it to
 *   the new id; one that lists after finds both ids. A move whose replaced id is being evicted
 *   fails too. Updates and touches never write to a hash that is gone or a tombstone;
 * - evicted sessions stay in the index (marked in `:ev`) until their hashes are deleted, so a
 *   failure half-way never leaves a live session that `destroyByUser` cannot find;
 * - an index entry whose hash is gone (expired, destroyed, evicted, moved) is dead for good —
 *   ids are never reused and nothing recreates a hash — so entries are pruned lazily:
 *   `destroy` is a single `DEL`, and `listByUser`, `destroyByUser` and logins at the limit drop
 *   the entries whose hash they find missing; logins also drop entries past their absolute
 *   expiry. The index therefore holds at most the sessions created within one absolute timeout.
 *
 * **Concurrency.** `update` applies only the delta, in one script that also checks
 * `maxDataSize` against the data as stored: concurrent requests that change different keys
 * keep each other's changes, and cannot together pass the limit. When two requests change the
 * *same* key, the one whose write reaches Redis last wins for that key.
 *
 * **Failures.** Every command's error rejects the operation (the library answers `503`); the
 * store never resolves a session it could not read. `destroyByUser` may miss a session created
 * by a fresh login that runs at the same time as it (that login is then ordered after it); it
 * never misses one moved from a session it ends.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { RedisStore, SessionModule } from 'nest-secure-session';
 *
 * SessionModule.forRootAsync({
 *   inject: [ConfigService],
 *   useFactory: (config: ConfigService) => ({
 *     secret: config.getOrThrow('SESSION_SECRET'),
 *     store: new RedisStore({
 *       client: new Redis(config.getOrThrow('REDIS_URL'), {
 *         enableOfflineQueue: false,
 *         maxRetriesPerRequest: 1,
 *         commandTimeout: 1_000,
 *       }),
 *       prefix: 'myapp:sess:',
 *     }),
 *   }),
 * });
 * ```
 * By default `close()` leaves the client open, since the app may use it for other things:
 * close it yourself on shutdown (e.g. in an `onApplicationShutdown` hook), or pass
 * `closeClient: true` to hand it to the store.
 */
export class RedisStore implements SessionStore, RevocationStore {
  readonly supportsReplaces = true;
  /** The key prefix in use. */
  readonly prefix: string;
  private readonly client: RedisStoreClient;
  private readonly scripts: ScriptClient;
  private revocationKeys?: RedisRevocations;
  private readonly closeClient: boolean;
  private closing: Promise<void> | undefined;

  constructor(options: RedisStoreOptions) {
    const client = options?.client;
    if (client === null || typeof client !== 'object' || typeof client.hgetall !== 'function') {
      throw new TypeError(
        'RedisStore needs `client`: an ioredis client, e.g. new RedisStore({ client: new Redis(url) })',
      );
    }
    const prefix = options.prefix ?? 'sess:';
    if (typeof prefix !== 'string' || /[{}]/.test(prefix)) {
      throw new TypeError(
        `RedisStore prefix must be a string without '{' or '}' (got ${JSON.stringify(prefix)}); the store adds the hash tags`,
      );
    }
    const closeClient = options.closeClient ?? false;
    if (typeof closeClient !== 'boolean') {
      throw new TypeError(
        `RedisStore closeClient must be a boolean (got ${JSON.stringify(closeClient)})`,
      );
    }
    if (closeClient && typeof client.quit !== 'function') {
      throw new TypeError(
        'RedisStore closeClient: true needs a client with quit(), such as an ioredis Redis or Cluster',
      );
    }
    for (const [name, definition] of Object.entries(SCRIPTS)) {
      client.defineCommand(name, definition);
    }
    this.client = client;
    this.scripts = client as unknown as ScriptClient;
    this.prefix = prefix;
    this.closeClient = closeClient;
  }

  async get(id: string): Promise<SessionRecord | null> {
    return decodeRecord(id, await this.client.hgetall(this.sessionKey(id)));
  }

  async set(
    record: SessionRecord,
    ttlMs: number,
    options: SessionWriteOptions = {},
  ): Promise<void> {
    const key = this.sessionKey(record.id);
    const now = record.expiresAt - ttlMs;
    const ttl = Math.floor(Math.min(ttlMs, record.absoluteExpiresAt - now));
    const replaced = options.replaces === undefined ? null : this.sessionKey(options.replaces);
    if (!(ttl >= 1)) {
      // Already past its expiry: nothing to keep (and an older session under this id goes).
      await Promise.all([key, replaced ?? key].map((gone) => this.client.del(gone)));
      return;
    }
    const fields = encodeRecord(record);
    if (record.userId !== null) {
      await this.setForUser(record, record.userId, key, now, ttl, fields, options);
    } else if (replaced === null) {
      await this.scripts.nestSecureSessionWrite(key, ttl, ...fields);
    } else if (!this.client.isCluster) {
      const moved = await this.scripts.nestSecureSessionMove(
        key,
        replaced,
        record.id,
        now,
        ttl,
        ...fields,
      );
      if (Number(moved) !== 1) {
        throw new SessionRevokedError();
      }
    } else {
      await this.scripts.nestSecureSessionWrite(key, ttl, ...fields);
      if (!(await this.claim(replaced, record.id, now))) {
        await this.client.del(key);
        throw new SessionRevokedError();
      }
    }
  }

  async update(
    id: string,
    delta: SessionDelta,
    touch: SessionTouch,
    ttlMs: number,
    options: SessionUpdateOptions = {},
  ): Promise<void> {
    const args: (string | number)[] = [];
    for (const [key, value] of Object.entries(delta.set)) {
      args.push(DATA_FIELD_PREFIX + key, assertValue(key, value));
    }
    const count = args.length / 2;
    for (const key of delta.deleted) {
      args.push(DATA_FIELD_PREFIX + key);
    }
    const limit = options.maxDataSize;
    const [outcome, size] = (await this.scripts.nestSecureSessionUpdate(
      this.sessionKey(id),
      touch.lastSeenAt,
      touch.expiresAt,
      finiteTtl(ttlMs),
      limit === undefined ? -1 : Math.max(0, Math.floor(limit)),
      count,
      ...args,
    )) as UpdateReply;
    if (outcome === 2) {
      throw new SessionDataTooLargeError(null, Number(size), limit ?? 0);
    }
    if (outcome !== 1) {
      throw new SessionRevokedError();
    }
  }

  async touch(id: string, touch: SessionTouch, ttlMs: number): Promise<void> {
    const [outcome] = (await this.scripts.nestSecureSessionUpdate(
      this.sessionKey(id),
      touch.lastSeenAt,
      touch.expiresAt,
      finiteTtl(ttlMs),
      -1,
      0,
    )) as UpdateReply;
    if (outcome !== 1) {
      throw new SessionRevokedError();
    }
  }

  /** One `DEL`; the user's index entry is dropped lazily (see the class notes). */
  async destroy(id: string): Promise<void> {
    await this.client.del(this.sessionKey(id));
  }

  async listByUser(userId: string, limit?: number): Promise<SessionRecord[]> {
    const index = this.userKey(userId, 'idx');
    const live = new Map<string, SessionRecord>();
    const dead: string[] = [];
    // Newest first, a page at a time, until `limit` live sessions (or the index) are read.
    let examined = 0;
    while (limit === undefined || live.size < limit) {
      const wanted = limit === undefined ? Infinity : limit - live.size;
      const ids =
        limit === undefined
          ? await this.client.zrange(index, '0', '-1')
          : await this.client.zrange(index, String(-(examined + wanted)), String(-(examined + 1)));
      const hashes = await Promise.all(ids.map((id) => this.client.hgetall(this.sessionKey(id))));
      ids.forEach((id, i) => {
        const record = decodeRecord(id, hashes[i]);
        if (record !== null && record.userId === userId) {
          live.set(id, record);
        } else {
          dead.push(id);
        }
      });
      examined += ids.length;
      if (ids.length < wanted) {
        break;
      }
    }
    if (dead.length > 0) {
      await this.prune(userId, dead);
    }
    return [...live.values()].sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1));
  }

  async destroyByUser(userId: string, exceptId?: string): Promise<number> {
    const ids = (await this.client.zrange(this.userKey(userId, 'idx'), '0', '-1')).filter(
      (id) => id !== exceptId,
    );
    if (ids.length === 0) {
      return 0;
    }
    const deleted = await Promise.all(ids.map((id) => this.destroyMoved(id, userId, exceptId)));
    await this.prune(userId, ids);
    return deleted.reduce((sum, n) => sum + n, 0);
  }

  /**
   * `RevocationStore` (stateless mode's `revocationStore`): refuses session `id` until `until`
   * with one key whose TTL ends then (see `RedisRevocations`). Redis must run with
   * `maxmemory-policy noeviction`, or revocation keys can be evicted before their time.
   */
  revoke(id: string, until: number, now?: number): Promise<void> {
    return this.revocations().revoke(id, until, now);
  }

  /** `RevocationStore`: refuses the user's sessions created before `notBefore`, until `until`. */
  revokeUser(userId: string, notBefore: number, until: number, now?: number): Promise<void> {
    return this.revocations().revokeUser(userId, notBefore, until, now);
  }

  /** `RevocationStore`: whether a stateless session is revoked (two `GET`s sent together). */
  isRevoked(session: RevocationSubject, now?: number): Promise<boolean> {
    return this.revocations().isRevoked(session, now);
  }

  /**
   * With `closeClient: true`, quits the client (disconnects it if `quit()` fails) and resolves
   * when that is done; later calls return the same promise. Never rejects. Otherwise does
   * nothing: the client is the app's.
   */
  close(): Promise<void> {
    if (!this.closeClient) {
      return Promise.resolve();
    }
    this.closing ??= this.quitClient();
    return this.closing;
  }

  /** Key of a session hash; its hash tag is the id, so sessions spread over a Cluster. */
  protected sessionKey(id: string): string {
    return `${this.prefix}{${id}}`;
  }

  /** Key of one of a user's index structures, all in the slot of the tag `{u:<userId>}`. */
  protected userKey(userId: string, part: 'idx' | 'exp' | 'ev' | 'mv'): string {
    return `${this.prefix}{u:${userId}}:${part}`;
  }

  private revocations(): RedisRevocations {
    this.revocationKeys ??= new RedisRevocations(
      this.client as RedisStoreClient & RedisRevocationClient,
      this.prefix,
    );
    return this.revocationKeys;
  }

  private async setForUser(
    record: SessionRecord,
    userId: string,
    key: string,
    now: number,
    ttl: number,
    fields: string[],
    options: SessionWriteOptions,
  ): Promise<void> {
    const limit = options.maxSessionsPerUser;
    if (limit !== undefined && !(Number.isInteger(limit) && limit >= 0)) {
      throw new TypeError(`maxSessionsPerUser must be a non-negative integer (got ${limit})`);
    }
    const replaces = options.replaces;
    const replaced = replaces === undefined ? null : this.sessionKey(replaces);
    // A Cluster cannot run one script over the session's slot and the user's: write the hash
    // first (see the class notes for why that order is the safe one).
    const together = !this.client.isCluster;
    if (!together) {
      await this.scripts.nestSecureSessionWrite(key, ttl, ...fields);
    }
    const keys = [
      ...(['idx', 'exp', 'ev', 'mv'] as const).map((part) => this.userKey(userId, part)),
      ...(together ? [key, ...(replaced === null ? [] : [replaced])] : []),
    ];
    /** `dead`: ids found gone by a check round, or `null` before any check. */
    const index = (dead: string[] | null): Promise<IndexReply> =>
      this.scripts.nestSecureSessionIndex(
        keys.length,
        ...keys,
        record.id,
        record.createdAt,
        record.absoluteExpiresAt,
        now,
        limit ?? -1,
        options.limitPolicy ?? 'evict-oldest',
        dead === null ? '0' : '1',
        replaces ?? '',
        dead?.length ?? 0,
        ...(dead ?? []),
        ...(together ? [ttl, ...fields] : []),
      ) as Promise<IndexReply>;
    let indexed = false;
    try {
      let [outcome, ids] = await index(null);
      if (outcome === 'check') {
        [outcome, ids] = await index(await this.deadAmong(userId, ids));
      }
      if (outcome === 'refuse') {
        throw new SessionLimitExceededError(limit ?? 0);
      }
      if (outcome === 'revoked') {
        throw new SessionRevokedError();
      }
      indexed = true;
      const gone = [...ids];
      if (!together && replaced !== null && replaces !== undefined) {
        if (!(await this.claim(replaced, record.id, now))) {
          throw new SessionRevokedError();
        }
        gone.push(replaces);
      }
      if (ids.length > 0) {
        await Promise.all(
          ids.map((id) => this.scripts.nestSecureSessionDestroyOwned(this.sessionKey(id), userId)),
        );
        await this.prune(userId, gone);
      } else if (gone.length > 0) {
        // The replaced id's hash is a tombstone now; its entry can go without waiting.
        void this.prune(userId, gone).catch(() => undefined);
      }
    } catch (error) {
      await this.undoLogin(key, userId, indexed ? [record.id, replaces] : [], error);
      throw error;
    }
  }

  private async quitClient(): Promise<void> {
    try {
      await this.client.quit?.();
    } catch {
      // Redis is unreachable (or the client was closed already): drop the connection and stop
      // reconnecting, so that shutdown neither fails nor keeps the process alive.
      this.client.disconnect?.();
    }
  }

  /** Cluster: ends the replaced session, if it is still live; `false` when it is gone. */
  private async claim(replaced: string, id: string, now: number): Promise<boolean> {
    return Number(await this.scripts.nestSecureSessionClaim(replaced, id, now)) === 1;
  }

  /**
   * The login or move failed, so its session must not linger (on a Cluster it is already
   * written). A refusal (limit, session gone) is an answer: the hash is deleted before the
   * caller hears it, so no other client can still read it. After an infrastructure failure its
   * token was never handed out, so if the deletion fails too nothing usable is left; not
   * awaited, so a stalled server costs the login one command timeout, not two.
   */
  private async undoLogin(
    key: string,
    userId: string,
    indexed: (string | undefined)[],
    error: unknown,
  ): Promise<void> {
    const answered =
      error instanceof SessionLimitExceededError || error instanceof SessionRevokedError;
    if (answered && !this.client.isCluster) {
      return; // One script decided: it wrote nothing.
    }
    const deletion = this.client.del(key);
    const dead = indexed.filter((id): id is string => id !== undefined);
    if (answered) {
      await deletion;
      if (dead.length > 0) {
        void this.prune(userId, dead).catch(() => undefined);
      }
    } else {
      void deletion.catch(() => undefined);
    }
  }

  /**
   * Deletes `id` if it is the user's, and follows its tombstones: a session that moved to a new
   * id since `id` was listed is ended too (except `exceptId`). Resolves to the number deleted.
   */
  private async destroyMoved(id: string, userId: string, exceptId?: string): Promise<number> {
    let deleted = 0;
    let next = id;
    for (let moves = 0; next !== '' && moves <= MAX_FOLLOWED_MOVES; moves++) {
      const [count, movedTo] = (await this.scripts.nestSecureSessionDestroyOwned(
        this.sessionKey(next),
        userId,
      )) as DestroyReply;
      deleted += Number(count);
      next = movedTo === exceptId ? '' : movedTo;
    }
    return deleted;
  }

  /**
   * Of these indexed ids, those whose session is gone or is no longer the user's (a tombstone
   * has no `userId`: a moved session is gone).
   */
  private async deadAmong(userId: string, ids: string[]): Promise<string[]> {
    const owners = await Promise.all(
      ids.map((id) => this.client.hget(this.sessionKey(id), FIELD.userId)),
    );
    return ids.filter((_, i) => owners[i] !== userId);
  }

  private async prune(userId: string, ids: string[]): Promise<void> {
    await this.scripts.nestSecureSessionPrune(
      ...(['idx', 'exp', 'ev', 'mv'] as const).map((part) => this.userKey(userId, part)),
      ...ids,
    );
  }
}

function finiteTtl(ttlMs: number): number {
  if (!Number.isFinite(ttlMs)) {
    throw new TypeError(`ttlMs must be a finite number (got ${ttlMs})`);
  }
  return Math.floor(ttlMs);
}

function assertValue(key: string, value: unknown): string {
  if (typeof value !== 'string') {
    throw new TypeError(
      `Session data value of '${key}' must be a string (stores keep encoded data)`,
    );
  }
  return value;
}

function encodeRecord(record: SessionRecord): string[] {
  const fields: string[] = [
    FIELD.createdAt,
    String(record.createdAt),
    FIELD.lastSeenAt,
    String(record.lastSeenAt),
    FIELD.expiresAt,
    String(record.expiresAt),
    FIELD.absoluteExpiresAt,
    String(record.absoluteExpiresAt),
  ];
  if (record.userId !== null) {
    fields.push(FIELD.userId, record.userId);
  }
  if (record.authenticatedAt !== null) {
    fields.push(FIELD.authenticatedAt, String(record.authenticatedAt));
  }
  if (record.userAgent !== null) {
    fields.push(FIELD.userAgent, record.userAgent);
  }
  let dataSize = 0;
  for (const [key, value] of Object.entries(record.data)) {
    fields.push(DATA_FIELD_PREFIX + key, assertValue(key, value));
    dataSize += Buffer.byteLength(key) + Buffer.byteLength(value);
  }
  fields.push(FIELD.dataSize, String(dataSize));
  return fields;
}

/**
 * A record from a session hash, or `null` when there is none or it lacks a required field.
 * Only known fields are read, and data keys are defined as own properties, so a field named
 * `d:__proto__` yields a data key `__proto__` instead of touching a prototype.
 */
function decodeRecord(id: string, hash: Record<string, string>): SessionRecord | null {
  const data: Record<string, string> = {};
  for (const field of Object.keys(hash)) {
    if (field.startsWith(DATA_FIELD_PREFIX)) {
      Object.defineProperty(data, field.slice(DATA_FIELD_PREFIX.length), {
        value: hash[field],
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
  }
  const createdAt = timeField(hash, FIELD.createdAt);
  const lastSeenAt = timeField(hash, FIELD.lastSeenAt);
  const expiresAt = timeField(hash, FIELD.expiresAt);
  const absoluteExpiresAt = timeField(hash, FIELD.absoluteExpiresAt);
  if (
    createdAt === null ||
    lastSeenAt === null ||
    expiresAt === null ||
    absoluteExpiresAt === null
  ) {
    return null;
  }
  return {
    id,
    userId: stringField(hash, FIELD.userId),
    data,
    createdAt,
    lastSeenAt,
    authenticatedAt: timeField(hash, FIELD.authenticatedAt),
    expiresAt,
    absoluteExpiresAt,
    userAgent: stringField(hash, FIELD.userAgent),
  };
}

function stringField(hash: Record<string, string>, field: string): string | null {
  return Object.hasOwn(hash, field) ? hash[field] : null;
}

function timeField(hash: Record<string, string>, field: string): number | null {
  const text = stringField(hash, field);
  const value = text === null || text === '' ? NaN : Number(text);
  return Number.isFinite(value) ? value : null;
}
