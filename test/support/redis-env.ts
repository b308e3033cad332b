import { randomBytes } from 'node:crypto';
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';

/** The shared Redis the default test command runs against. */
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/**
 * Client options the README recommends with `RedisStore`: fail closed and fast. No offline
 * queue (a command while disconnected rejects at once), one retry, a command timeout.
 */
export const FAIL_CLOSED_OPTIONS = {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  commandTimeout: 2_000,
  connectTimeout: 2_000,
} satisfies RedisOptions;

/** A key prefix no other run or suite uses: suites never FLUSH the shared server. */
export function uniquePrefix(label: string): string {
  return `nss-test:${label}:${randomBytes(6).toString('hex')}:`;
}

/**
 * Connects to `url` with the fail-closed options and waits until ready. An unreachable Redis
 * fails the suite — with `CI=true` and without: these suites are never skipped.
 */
export async function connectRedis(url = REDIS_URL, options: RedisOptions = {}): Promise<Redis> {
  const client = new Redis(url, { ...FAIL_CLOSED_OPTIONS, lazyConnect: true, ...options });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.ping();
  } catch (error) {
    client.disconnect();
    throw new Error(
      `Redis at ${url} is unreachable (${String(error)}). The Redis suites need it: start ` +
        `redis-server or set REDIS_URL${process.env.CI === 'true' ? ' (CI=true)' : ''}.`,
      { cause: error },
    );
  }
  return client;
}

/** Connects an ioredis `Cluster` with the fail-closed options and waits until ready. */
export async function connectCluster(
  startupNodes: { host: string; port: number }[],
  options: ClusterOptions = {},
): Promise<Cluster> {
  const cluster = new Cluster(startupNodes, {
    enableOfflineQueue: false,
    lazyConnect: true,
    redisOptions: FAIL_CLOSED_OPTIONS,
    ...options,
  });
  cluster.on('error', () => undefined);
  await cluster.connect();
  return cluster;
}

/** Deletes every key under `prefix` (on every master of a Cluster), without FLUSH. */
export async function deleteKeysWithPrefix(
  client: Redis | Cluster,
  prefix: string,
): Promise<number> {
  const nodes = client instanceof Cluster ? client.nodes('master') : [client];
  const pattern = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
  let deleted = 0;
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      for (const key of keys) {
        deleted += await node.del(key);
      }
    } while (cursor !== '0');
  }
  return deleted;
}
