import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, HttpCode, Module, Post, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { Redis } from 'ioredis';
import {
  MemoryStore,
  RedisStore,
  Session,
  SessionHandle,
  SessionModule,
  SessionService,
  type SessionStore,
} from 'nest-secure-session';
import request, { type Response } from 'supertest';
import { PausingStore } from '../lib/testing/index.js';
import { createTestApp, FakeClock, TEST_CONTROLLERS, TEST_SECRET } from './fixtures/test-app.js';
import { cookieFrom, login, sessionSetCookies } from './fixtures/session-helpers.js';
import { initApp, PLATFORMS } from './support/platforms.js';
import { connectRedis, deleteKeysWithPrefix, uniquePrefix } from './support/redis-env.js';

/**
 * "A revoked, logged-out or revoked-all session never comes back", over HTTP: a request that
 * moves its session (regenerate, a login from a live session) or writes to it is held just
 * before its save reaches the store, the session is ended by another request, and the held
 * request is let go. It must answer 401 with no session cookie, and leave no session behind.
 */

let redis: Redis;
const prefix = uniquePrefix('no-resurrection');

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

/** No `Set-Cookie` of the session carries a value (a clearing one is fine). */
function expectNoSessionHandedOut(response: Response): void {
  for (const setCookie of sessionSetCookies(response)) {
    expect(setCookie).toMatch(/^__Host-sid=;/);
  }
}

describe.each(PLATFORMS)('no resurrection over HTTP (%s)', (platform) => {
  describe.each(Object.keys(STORES))('%s', (storeName) => {
    let app: INestApplication;
    let store: PausingStore;
    let clock: FakeClock;
    let user = 0;
    const http = () => request(app.getHttpServer());

    beforeAll(async () => {
      store = new PausingStore(STORES[storeName]());
      // The stores keep real time: so does the app's clock (moved by hand only forwards).
      ({ app, clock } = await createTestApp({ store }, new FakeClock(Date.now()), platform));
    });
    afterAll(async () => {
      await app.close();
    });
    afterEach(() => {
      user++;
    });

    /** Two devices of one user, logged in. */
    async function twoDevices() {
      const userId = `resurrection-${platform}-${storeName}-${user}`;
      const first = await login(app, userId);
      const second = await login(app, userId);
      return { userId, first, second };
    }

    /**
     * Starts `call`, holds its `method` store call on the session `id` (only that one: the
     * requests that end it may touch their own), runs `meanwhile`, lets it go.
     */
    async function heldWhile(
      method: 'set' | 'update' | 'touch',
      id: string,
      call: () => PromiseLike<Response>,
      meanwhile: () => Promise<unknown>,
    ): Promise<Response> {
      const held = store.hold(method, {
        matches: (args) =>
          method === 'set'
            ? (args[2] as { replaces?: string } | undefined)?.replaces === id ||
              // A store without `replaces` support sees the plain set of the new session.
              store.supportsReplaces !== true
            : args[0] === id,
      });
      const pending = Promise.resolve(call());
      await held.reached;
      await meanwhile();
      held.release();
      return pending;
    }

    it('a regenerate in flight while another device revokes all the user’s sessions: 401, no cookie, nothing stored', async () => {
      const { userId, first, second } = await twoDevices();
      const regenerated = await heldWhile(
        'set',
        first.id,
        () => http().post('/regenerate-and-write').set('Cookie', first.cookie),
        () =>
          http().post('/logout-others').set('Cookie', second.cookie).expect(200, { revoked: 1 }),
      );
      expect(regenerated.status).toBe(401);
      expectNoSessionHandedOut(regenerated);
      await http().get('/me').set('Cookie', first.cookie).expect(401);
      const listed = await store.listByUser(userId);
      expect(listed.map((record) => record.id)).toEqual([second.id]);
    });

    it('a login from a live session (step-up) in flight while that session is revoked: 401, no cookie', async () => {
      const { userId, first, second } = await twoDevices();
      const relogin = await heldWhile(
        'set',
        first.id,
        () => http().post('/login').set('Cookie', first.cookie).send({ userId }),
        () => http().delete(`/sessions/${first.id}`).set('Cookie', second.cookie).expect(200),
      );
      expect(relogin.status).toBe(401);
      expectNoSessionHandedOut(relogin);
      expect((await store.listByUser(userId)).map((record) => record.id)).toEqual([second.id]);
    });

    it('a regenerate in flight while the same session logs out in another tab: 401, nothing stored', async () => {
      const { userId, first, second } = await twoDevices();
      const regenerated = await heldWhile(
        'set',
        first.id,
        () => http().post('/regenerate-and-write').set('Cookie', first.cookie),
        () => http().post('/logout').set('Cookie', first.cookie).expect(200),
      );
      expect(regenerated.status).toBe(401);
      expectNoSessionHandedOut(regenerated);
      expect((await store.listByUser(userId)).map((record) => record.id)).toEqual([second.id]);
    });

    it('a write in flight while its session is revoked: 401, and the session is not recreated', async () => {
      const { userId, first, second } = await twoDevices();
      const written = await heldWhile(
        'update',
        first.id,
        () => http().post('/counter').set('Cookie', first.cookie),
        () => http().post('/logout-others').set('Cookie', second.cookie).expect(200),
      );
      expect(written.status).toBe(401);
      expectNoSessionHandedOut(written);
      expect(await store.get(first.id)).toBeNull();
      await http().get('/me').set('Cookie', first.cookie).expect(401);
      expect((await store.listByUser(userId)).map((record) => record.id)).toEqual([second.id]);
    });

    it('a read that records activity (touch) while its session is revoked: 401, not recreated', async () => {
      const { first, second } = await twoDevices();
      clock.advance(2 * 60_000); // past touchAfter: the read touches the session
      const read = await heldWhile(
        'touch',
        first.id,
        () => http().get('/me').set('Cookie', first.cookie),
        () => http().delete(`/sessions/${first.id}`).set('Cookie', second.cookie).expect(200),
      );
      expect(read.status).toBe(401);
      expect(await store.get(first.id)).toBeNull();
    });

    it('without a revocation, the same requests succeed and the old id is gone', async () => {
      const { userId, first, second } = await twoDevices();
      const regenerated = await http()
        .post('/regenerate-and-write')
        .set('Cookie', first.cookie)
        .expect(200);
      const moved = (regenerated.body as { id: string }).id;
      await http().get('/me').set('Cookie', first.cookie).expect(401);
      expect(new Set((await store.listByUser(userId)).map((record) => record.id))).toEqual(
        new Set([second.id, moved]),
      );
    });
  });
});

/** "Sign out everywhere else" in the request that also regenerates (e.g. a password change). */
@Controller('password')
class PasswordController {
  constructor(private readonly sessions: SessionService) {}

  @Post('regenerate-then-revoke-others')
  @HttpCode(200)
  async regenerateThenRevoke(@Session() session: SessionHandle) {
    await session.regenerate();
    const except = session.id;
    return { revoked: await this.sessions.revokeAllForUser(session.userId as string, { except }) };
  }

  @Post('revoke-others-then-regenerate')
  @HttpCode(200)
  async revokeThenRegenerate(@Session() session: SessionHandle) {
    const except = session.id;
    const revoked = await this.sessions.revokeAllForUser(session.userId as string, { except });
    await session.regenerate();
    return { revoked };
  }
}

describe.each(PLATFORMS)('revoking the others in a request that regenerates (%s)', (platform) => {
  let app: INestApplication;

  beforeAll(async () => {
    @Module({
      imports: [SessionModule.forRoot({ secret: TEST_SECRET, global: true, csrf: false })],
      controllers: [...TEST_CONTROLLERS, PasswordController],
    })
    class PasswordAppModule {}
    app = await initApp(
      await Test.createTestingModule({ imports: [PasswordAppModule] }).compile(),
      platform,
    );
  });
  afterAll(async () => {
    await app.close();
  });

  it.each(['regenerate-then-revoke-others', 'revoke-others-then-regenerate'])(
    '%s: the caller keeps a (new) session, every other one ends',
    async (route) => {
      const userId = `password-${platform}-${route}`;
      const here = await login(app, userId);
      const elsewhere = await login(app, userId);
      const changed = await request(app.getHttpServer())
        .post(`/password/${route}`)
        .set('Cookie', here.cookie)
        .expect(200, { revoked: 1 });
      await request(app.getHttpServer()).get('/me').set('Cookie', cookieFrom(changed)).expect(200);
      await request(app.getHttpServer()).get('/me').set('Cookie', here.cookie).expect(401);
      await request(app.getHttpServer()).get('/me').set('Cookie', elsewhere.cookie).expect(401);
    },
  );
});
