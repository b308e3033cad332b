import { Inject, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import type { Redis, RedisOptions } from 'ioredis';

/** Injection token of the sample's ioredis client: a `Redis`, or `null` without `REDIS_URL`. */
export const REDIS_CLIENT = Symbol('REDIS_CLIENT');

/**
 * Reconnect delay: 50, 100, 150, 200 ms, then every 200 ms for as long as Redis is away, plus up
 * to 50 ms of jitter so that many instances do not retry in lockstep. ioredis's default backs off
 * exponentially to 5 s (ioredis 5: linearly to 2 s), so after a long outage the app kept
 * answering 503 for seconds after Redis was back. A refused connection attempt costs next to
 * nothing, on either side, so retrying this often is cheap.
 */
export function reconnectDelay(attempt: number): number {
  return Math.min(attempt * 50, 200) + Math.floor(Math.random() * 50);
}

/**
 * Fail-closed client options (see `RedisStore`): while Redis is down or stalled a session
 * lookup fails fast and the request answers `503`, instead of queueing or hanging; once Redis
 * is back, requests are served again within a few hundred milliseconds.
 */
export const REDIS_CLIENT_OPTIONS = {
  enableOfflineQueue: false, // reject at once while disconnected: no unbounded offline queue
  maxRetriesPerRequest: 1, // no retrying a command over and over
  commandTimeout: 1_000, // a stalled (paused, overloaded) server fails the request
  // Reconnect every ≤ 250 ms, forever (see reconnectDelay).
  retryStrategy: reconnectDelay,
  // An attempt at an unreachable host (packets dropped) gives up after 500 ms so that the next
  // one can start; the default 10 s would be added to the outage once the network is back.
  connectTimeout: 500,
  lazyConnect: false, // connect now; the client reconnects by itself when Redis comes back
  enableAutoPipelining: true, // commands of one tick share one write: fewer syscalls under load
} satisfies RedisOptions;

/** How long start-up waits for the first connection before serving anyway (failing closed). */
const READY_WAIT_MS = 3_000;

const logger = new Logger('Redis');

/** `url` with any password masked, for logs. */
function redacted(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') {
      parsed.password = '***';
    }
    return parsed.toString();
  } catch {
    return '(unparsable REDIS_URL)';
  }
}

/** Resolves `true` once the client is ready, `false` if it is not within `ms`. */
function waitForReady(client: Redis, ms: number): Promise<boolean> {
  if (client.status === 'ready') {
    return Promise.resolve(true);
  }
  return new Promise((resolve) => {
    const onReady = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    const timer = setTimeout(() => {
      client.off('ready', onReady);
      resolve(false);
    }, ms);
    client.once('ready', onReady);
  });
}

/**
 * Connects to `url` with {@link REDIS_CLIENT_OPTIONS}; `null` without a URL. ioredis is loaded
 * only then: it is an optional peer dependency of the package. An unreachable Redis does not
 * stop the app: public routes keep working, protected ones answer `503` until it is back.
 */
export async function createRedisClient(url: string | undefined): Promise<Redis | null> {
  if (url === undefined || url === '') {
    return null;
  }
  const { Redis } = await import('ioredis');
  const client = new Redis(url, REDIS_CLIENT_OPTIONS);
  const where = redacted(url);
  // One line per outage rather than one per reconnection attempt. The listener also keeps
  // ioredis from reporting "Unhandled error event".
  let down = false;
  client.on('error', (error: Error) => {
    if (!down) {
      down = true;
      logger.error(
        `${where} unreachable (${error.message}); protected routes answer 503 until it is back`,
      );
    }
  });
  client.on('ready', () => {
    logger.log(down ? `${where} is back` : `Connected to ${where}`);
    down = false;
  });
  if (!(await waitForReady(client, READY_WAIT_MS))) {
    logger.warn(`${where} not ready after ${READY_WAIT_MS} ms; starting anyway (fail closed)`);
  }
  return client;
}

/** Provides {@link REDIS_CLIENT} from `REDIS_URL` and closes it when the app shuts down. */
@Module({
  providers: [
    { provide: REDIS_CLIENT, useFactory: () => createRedisClient(process.env.REDIS_URL) },
  ],
  exports: [REDIS_CLIENT],
})
export class RedisModule implements OnApplicationShutdown {
  constructor(@Inject(REDIS_CLIENT) private readonly client: Redis | null) {}

  async onApplicationShutdown(): Promise<void> {
    if (this.client === null) {
      return;
    }
    // QUIT lets replies in flight arrive; while Redis is down or stalled it fails (no offline
    // queue, command timeout), and the socket is dropped instead.
    await this.client.quit().catch(() => this.client?.disconnect());
  }
}
