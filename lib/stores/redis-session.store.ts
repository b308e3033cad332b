import type {
  RevocationStore,
  RevocationSubject,
} from '../interfaces/revocation-store.interface.js';
import type {
  ClientFingerprint,
  SessionDelta,
  SessionRecord,
  SessionSetResult,
  SessionStore,
  SessionTombstone,
  SessionTouch,
  SessionUpdateOptions,
  SessionWriteOptions,
  StoreExpiry,
} from '../interfaces/session-store.interface.js';
import { SCRIPTS, type RedisStoreContext, type ScriptClient } from './redis-commands.js';
import { RedisExpiryEvents, type RedisDuplicableClient } from './redis-expiry-events.js';
import { destroyByUser, listByUser } from './redis-listing.js';
import { decodeRecord } from './redis-record.codec.js';
import { RedisRevocations, type RedisRevocationClient } from './redis-revocations.js';
import { swapDeviceBinding } from './redis-binding.js';
import type { RedisStoreClient, RedisStoreOptions } from './redis-store.options.js';
import { destroyRotated, getTombstone } from './redis-rotation.js';
import { touchRecord, updateRecord, writeClient, writeRecord } from './redis-writes.js';

export type { RedisStoreClient, RedisStoreOptions } from './redis-store.options.js';

/**
 * Sessions in Redis, for apps that run more than one instance. Takes the app's own ioredis
 * client, single node or Cluster.
 *
 * **Layout.** A session is one hash, `{prefix}{<id>}`: metadata fields (`userId`, `createdAt`,
 * `lastSeenAt`, `authenticatedAt`, `expiresAt`, `absoluteExpiresAt`, `userAgent`, `client` (hijack signals), and
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
  /** Token rotation: a rotated-out id's hash becomes a tombstone (see `redis-rotation.ts`). */
  readonly supportsRotation = true;
  /** The key prefix in use. */
  readonly prefix: string;
  private readonly client: RedisStoreClient;
  /** Client, scripts and key layout, as the store's internals (`redis-*.ts`) take them. */
  private readonly context: RedisStoreContext;
  private revocationKeys?: RedisRevocations;
  private readonly closeClient: boolean;
  private closing: Promise<void> | undefined;
  private readonly expiry: RedisExpiryEvents | null;

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
    const expiryEvents = options.expiryEvents ?? false;
    if (typeof expiryEvents !== 'boolean' || (expiryEvents && !duplicable(client))) {
      throw new TypeError(
        'RedisStore expiryEvents must be a boolean, and true needs an ioredis client (it subscribes on client.duplicate())',
      );
    }
    for (const [name, definition] of Object.entries(SCRIPTS)) {
      client.defineCommand(name, definition);
    }
    this.client = client;
    this.context = {
      client,
      scripts: client as unknown as ScriptClient,
      sessionKey: (id) => this.sessionKey(id),
      userKey: (userId, part) => this.userKey(userId, part),
    };
    this.prefix = prefix;
    this.closeClient = closeClient;
    this.expiry = expiryEvents ? new RedisExpiryEvents(client, prefix) : null;
  }

  async get(id: string): Promise<SessionRecord | null> {
    return decodeRecord(id, await this.client.hgetall(this.sessionKey(id)));
  }

  /** Resolves `{ evicted }`: the user's sessions deleted to keep within `maxSessionsPerUser`. */
  set(
    record: SessionRecord,
    ttlMs: number,
    options: SessionWriteOptions = {},
  ): Promise<SessionSetResult> {
    return writeRecord(this.context, record, ttlMs, options);
  }

  update(
    id: string,
    delta: SessionDelta,
    touch: SessionTouch,
    ttlMs: number,
    options: SessionUpdateOptions = {},
  ): Promise<void> {
    return updateRecord(this.context, id, delta, touch, ttlMs, options);
  }

  touch(id: string, touch: SessionTouch, ttlMs: number): Promise<void> {
    return touchRecord(this.context, id, touch, ttlMs);
  }

  /** One `EVALSHA`: the `client` field of a live session (hijack signals). */
  setClient(id: string, client: ClientFingerprint): Promise<void> {
    return writeClient(this.context, id, client);
  }

  /** One `EVALSHA` that compares and sets the `deviceBinding` field of a live session hash. */
  swapDeviceBinding(id: string, expected: string | null, next: string): Promise<boolean> {
    return swapDeviceBinding(this.context, id, expected, next);
  }

  /** One `DEL`; the user's index entry is dropped lazily (see the class notes). */
  async destroy(id: string): Promise<void> {
    await this.client.del(this.sessionKey(id));
  }

  getTombstone(id: string): Promise<SessionTombstone | null> {
    return getTombstone(this.context, id);
  }

  destroyRotated(id: string): Promise<string[]> {
    return destroyRotated(this.context, id);
  }

  listByUser(userId: string, limit?: number): Promise<SessionRecord[]> {
    return listByUser(this.context, userId, limit);
  }

  destroyByUser(userId: string, exceptId?: string): Promise<number> {
    return destroyByUser(this.context, userId, exceptId);
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

  /** With `expiryEvents: true`, reports keyspace notifications of expired sessions; else never. */
  watchExpiry(listener: (expiry: StoreExpiry) => void): () => void {
    return this.expiry?.watch(listener) ?? (() => undefined);
  }

  /**
   * Ends the `expiryEvents` connections. With `closeClient: true`, also quits the client
   * (disconnects it if `quit()` fails); otherwise the client is the app's and stays open.
   * Resolves when that is done; later calls return the same promise. Never rejects.
   */
  close(): Promise<void> {
    this.closing ??= Promise.all([
      this.expiry?.close(),
      this.closeClient ? this.quitClient() : undefined,
    ]).then(() => undefined);
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

  private async quitClient(): Promise<void> {
    try {
      await this.client.quit?.();
    } catch {
      // Redis is unreachable (or the client was closed already): drop the connection and stop
      // reconnecting, so that shutdown neither fails nor keeps the process alive.
      this.client.disconnect?.();
    }
  }
}

function duplicable(client: RedisStoreClient): boolean {
  return typeof (client as RedisDuplicableClient).duplicate === 'function';
}
