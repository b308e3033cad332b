import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import type { Redis } from 'ioredis';
import {
  MemoryStore,
  RedisStore,
  SessionOptionsError,
  type SessionModuleOptions,
  type SessionStore,
} from 'nest-secure-session';
import request from 'supertest';
import { PausingStore } from '../lib/testing/index.js';
import { createTestApp, FakeClock } from './fixtures/test-app.js';
import { cookieFrom, login } from './fixtures/session-helpers.js';
import { PLATFORMS } from './support/platforms.js';
import { connectRedis, deleteKeysWithPrefix, uniquePrefix } from './support/redis-env.js';

/** Limits that hold: `maxSessionsPerUser` with moves, `maxDataSize` under concurrency, bounds. */

let redis: Redis;
const prefix = uniquePrefix('limits');

beforeAll(async () => {
  redis = await connectRedis();
});
afterAll(async () => {
  if (redis !== undefined) {
    await deleteKeysWithPrefix(redis, prefix);
    await redis.quit();
  }
});

const STORES: Record<string, () => SessionStore> = {
  MemoryStore: () => new MemoryStore(),
  'RedisStore (single node)': () => new RedisStore({ client: redis, prefix }),
};

let apps = 0;
async function appWith(
  options: Partial<SessionModuleOptions>,
  platform: (typeof PLATFORMS)[number],
): Promise<INestApplication> {
  apps++;
  // The stores keep real time: so does the app's clock.
  return (await createTestApp(options, new FakeClock(Date.now()), platform)).app;
}

describe.each(PLATFORMS)('limits that hold (%s)', (platform) => {
  describe.each(Object.keys(STORES))('%s', (storeName) => {
    const userOf = (label: string) => `${label}-${platform}-${storeName}-${apps}`;

    it("a regenerate or re-login at maxSessionsPerUser under 'refuse': accepted (it replaces a session), a new device still refused", async () => {
      const app = await appWith(
        { store: STORES[storeName](), maxSessionsPerUser: 2, sessionLimitPolicy: 'refuse' },
        platform,
      );
      try {
        const http = () => request(app.getHttpServer());
        const userId = userOf('refuse');
        const laptop = await login(app, userId);
        const phone = await login(app, userId);
        const regenerated = await http()
          .post('/regenerate-and-write')
          .set('Cookie', phone.cookie)
          .expect(200);
        const stepUp = await http()
          .post('/login')
          .set('Cookie', cookieFrom(regenerated))
          .send({ userId })
          .expect(200);
        await http().get('/me').set('Cookie', laptop.cookie).expect(200);
        await http().get('/me').set('Cookie', cookieFrom(stepUp)).expect(200);
        await http().post('/login').send({ userId }).expect(409);
      } finally {
        await app.close();
      }
    });

    it("a regenerate or re-login at maxSessionsPerUser under 'evict-oldest' evicts no other device", async () => {
      const app = await appWith({ store: STORES[storeName](), maxSessionsPerUser: 2 }, platform);
      try {
        const http = () => request(app.getHttpServer());
        const userId = userOf('evict');
        const laptop = await login(app, userId);
        const phone = await login(app, userId);
        const stepUp = await http()
          .post('/login')
          .set('Cookie', phone.cookie)
          .send({ userId })
          .expect(200);
        await http().post('/regenerate-and-write').set('Cookie', cookieFrom(stepUp)).expect(200);
        await http().get('/me').set('Cookie', laptop.cookie).expect(200);
        const listed = await http().get('/sessions').set('Cookie', laptop.cookie).expect(200);
        expect(listed.body).toHaveLength(2);
      } finally {
        await app.close();
      }
    });

    it('concurrent writes cannot add up past maxDataSize: one fits, the rest answer 413', async () => {
      const store = new PausingStore(STORES[storeName]());
      // Plain values, so the sizes below are the JSON's (a wrapped store is sealed by default).
      const app = await appWith({ store, maxDataSize: 1024, encryptAtRest: false }, platform);
      try {
        const http = () => request(app.getHttpServer());
        const { cookie, id } = await login(app, userOf('size'));
        // Each request alone stays under 1 KiB (and passes the per-request check); held until
        // all eight are about to write, as concurrent requests would be.
        const held = store.hold('update', { count: 8 });
        const writes = Array.from({ length: 8 }, (_, i) =>
          Promise.resolve(
            http()
              .post('/anon/set')
              .set('Cookie', cookie)
              .send({ key: `k${i}`, value: 'x'.repeat(780) }),
          ),
        );
        await held.reached;
        held.release();
        const statuses = (await Promise.all(writes)).map((response) => response.status).sort();
        expect(statuses).toEqual([200, 413, 413, 413, 413, 413, 413, 413]);
        const stored = (await store.get(id))?.data ?? {};
        const size = Object.entries(stored).reduce(
          (sum, [key, value]) => sum + Buffer.byteLength(key) + Buffer.byteLength(value),
          0,
        );
        expect(size).toBeLessThanOrEqual(1024);
      } finally {
        await app.close();
      }
    });
  });

  it('maxSessionsPerUser defaults to 50: the 51st login evicts the oldest, and listForUser is bounded', async () => {
    const app = await appWith({}, platform);
    try {
      const userId = `default-limit-${platform}`;
      const first = await login(app, userId);
      let last = first;
      for (let i = 1; i < 55; i++) {
        last = await login(app, userId);
      }
      const http = () => request(app.getHttpServer());
      await http().get('/me').set('Cookie', first.cookie).expect(401);
      const listed = await http().get('/sessions').set('Cookie', last.cookie).expect(200);
      expect(listed.body).toHaveLength(50);
    } finally {
      await app.close();
    }
  });

  it('the default MemoryStore keeps anonymous sessions apart: a flood of them evicts no signed-in user', async () => {
    const app = await appWith({ maxSessions: 5 }, platform);
    try {
      const http = () => request(app.getHttpServer());
      const users = [];
      for (let i = 0; i < 5; i++) {
        users.push(await login(app, `budget-${platform}-${i}`));
      }
      for (let i = 0; i < 50; i++) {
        await http()
          .post('/anon/theme')
          .send({ theme: `t${i}` })
          .expect(200);
      }
      for (const user of users) {
        await http().get('/me').set('Cookie', user.cookie).expect(200);
      }
    } finally {
      await app.close();
    }
  });
});

describe("store: 'cookie' with maxSessionsPerUser", () => {
  it('does not boot: a limit that can never be enforced is refused, naming the option', async () => {
    await expect(createTestApp({ store: 'cookie', maxSessionsPerUser: 3 })).rejects.toThrow(
      SessionOptionsError,
    );
    await expect(createTestApp({ store: 'cookie', maxSessionsPerUser: 3 })).rejects.toThrow(
      /maxSessionsPerUser cannot be enforced with store: 'cookie'/,
    );
  });

  it("boots without one (the default limit does not apply to store: 'cookie')", async () => {
    const { app } = await createTestApp({ store: 'cookie' });
    await app.close();
  });
});
