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
  /**
   * Report sessions that Redis expires (idle or absolute timeout reached while nobody asked
   * for them) as `expired` events with `source: 'keyspace'`. Off by default. The store
   * subscribes on connections of its own (`client.duplicate()`; one per master on a Cluster),
   * which `close()` ends. Redis sends these notifications only when configured to:
   * `notify-keyspace-events` must include `E` and `x` (`CONFIG SET notify-keyspace-events Ex`,
   * or `notify-keyspace-events Ex` in `redis.conf`). Redis reports a key when it deletes it:
   * when its active expiry cycle samples the key (usually within a second or so of the TTL,
   * later on a server holding many keys with TTLs) or when the key is next read. Best
   * effort: a notification sent while the connection is down is lost. Sessions moved to a new id (login, regenerate) leave
   * a short-lived tombstone under the old id, whose expiry is reported too.
   *
   * @example
   * ```ts
   * new RedisStore({ client, expiryEvents: true })
   * ```
   */
  expiryEvents?: boolean;
}
