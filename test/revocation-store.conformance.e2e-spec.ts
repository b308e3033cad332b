import { afterAll, beforeAll, describe, it } from '@jest/globals';
import { Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { MemoryRevocationStore, RedisStore } from 'nest-secure-session';
import { runRevocationStoreConformance } from '../lib/testing/index.js';
import {
  connectRedis,
  deleteKeysWithPrefix,
  REDIS_URL,
  uniquePrefix,
} from './support/redis-env.js';

// The bounded store logs each time it fails closed; the unit spec checks those logs.
Logger.overrideLogger(false);

runRevocationStoreConformance({
  name: 'MemoryRevocationStore',
  createStore: () => new MemoryRevocationStore(),
  runner: { describe, it },
});

// A capacity far below the flood: it must fail closed, never evict.
runRevocationStoreConformance({
  name: 'MemoryRevocationStore, maxRevocations 100',
  createStore: () => new MemoryRevocationStore({ maxRevocations: 100 }),
  runner: { describe, it },
});

// The shared Redis at REDIS_URL: a unique prefix per run, cleaned up after, never flushed.
let shared: Redis;
const prefix = uniquePrefix('revocations');

beforeAll(async () => {
  // The floods send thousands of scripts: on a loaded 2-core machine the fail-fast 2 s command
  // timeout of the app options measures the machine, not the store. Timeouts are tested elsewhere.
  shared = await connectRedis(undefined, { commandTimeout: 15_000 });
});
afterAll(async () => {
  if (shared !== undefined) {
    await deleteKeysWithPrefix(shared, prefix);
    await shared.quit();
  }
});

runRevocationStoreConformance({
  name: `RedisStore on a single node (${REDIS_URL})`,
  createStore: () => new RedisStore({ client: shared, prefix }),
  runner: { describe, it },
});
