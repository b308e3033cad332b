import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import {
  BadRequestException,
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Module,
  Param,
  Post,
  type INestApplication,
} from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { Redis } from 'ioredis';
import {
  MemoryStore,
  Public,
  RedisStore,
  Session,
  SessionHandle,
  SessionModule,
  SessionService,
  type SessionStore,
} from 'nest-secure-session';
import type { SessionEvent } from '../lib/events/session-event.js';
import request, { type Response } from 'supertest';
import {
  SESSION_CLOCK,
  SESSION_RUNTIME,
  type SessionRuntime,
} from '../lib/core/session-runtime.js';
import { PausingStore } from '../lib/testing/index.js';
import { cookieFrom, sessionSetCookies } from './fixtures/session-helpers.js';
import { FakeClock, TEST_SECRET } from './fixtures/test-app.js';
import { initApp, PLATFORMS, type Platform } from './support/platforms.js';
import { connectRedis, deleteKeysWithPrefix, uniquePrefix } from './support/redis-env.js';

/**
 * Token rotation with theft detection (`rotateEvery`), over HTTP on every platform and store:
 * a signed-in session's token is replaced once it is older than `rotateEvery`, the old one still
 * leads to the same session for `rotationGrace`, and presented after that it revokes the whole
 * session (401, cookie cleared, a `revoked` event with reason `'theft-detected'`).
 */

const EVERY_MS = 60_000;
const GRACE_MS = 10_000;

@Controller()
class RotationController {
  constructor(private readonly sessions: SessionService) {}

  @Post('login')
  @Public()
  @HttpCode(200)
  async login(@Body() body: { userId: string }) {
    const session = await this.sessions.login(body.userId, { roles: ['user'] });
    return { id: session.id };
  }

  @Post('token')
  @Public()
  @HttpCode(200)
  async token(@Body() body: { userId: string }) {
    const session = await this.sessions.login(body.userId, {}, { transport: 'header' });
    return { token: session.bearerToken };
  }

  @Get('me')
  me(@Session() session: SessionHandle) {
    return {
      id: session.id,
      userId: session.userId,
      data: session.data,
      createdAt: session.createdAt.getTime(),
      authenticatedAt: session.authenticatedAt?.getTime() ?? null,
    };
  }

  @Post('set/:key')
  @HttpCode(200)
  set(@Session() session: SessionHandle, @Param('key') key: string) {
    (session as unknown as { set(key: string, value: unknown): void }).set(key, `v-${key}`);
    return { ok: true };
  }

  @Post('fail')
  fail(@Session() session: SessionHandle) {
    session.set('roles', ['changed']);
    throw new BadRequestException('the handler failed');
  }

  @Post('logout')
  @HttpCode(200)
  async logout() {
    await this.sessions.logout();
    return { ok: true };
  }

  @Delete('sessions/:id')
  async revoke(@Param('id') id: string) {
    await this.sessions.revoke(id);
    return { ok: true };
  }

  @Get('csrf')
  csrf(@Session() session: SessionHandle) {
    return { csrfToken: session.csrfToken };
  }

  @Get('sessions')
  async list(@Session() session: SessionHandle) {
    return (await this.sessions.listForUser(session.userId as string)).map(({ id }) => id);
  }
}

let redis: Redis;
const prefix = uniquePrefix('rotation');

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

async function rotationApp(
  store: SessionStore,
  clock: FakeClock,
  platform: Platform,
  csrf = false,
) {
  @Module({
    imports: [
      SessionModule.forRoot({
        secret: TEST_SECRET,
        store,
        global: true,
        csrf,
        transport: ['cookie', 'header'],
        rotateEvery: EVERY_MS,
        rotationGrace: GRACE_MS,
      }),
    ],
    controllers: [RotationController],
  })
  class RotationAppModule {}

  const moduleRef = await Test.createTestingModule({ imports: [RotationAppModule] })
    .overrideProvider(SESSION_CLOCK)
    .useValue(clock.now)
    .compile();
  return initApp(moduleRef, platform);
}

/** The session cookie values a response set (empty for a clearing one). */
function sessionValues(response: Response): string[] {
  return sessionSetCookies(response).map((entry) => entry.slice(0, entry.indexOf(';')));
}

describe.each(PLATFORMS)('token rotation over HTTP (%s)', (platform) => {
  describe.each(Object.keys(STORES))('%s', (storeName) => {
    let app: INestApplication;
    let store: PausingStore;
    let clock: FakeClock;
    let events: SessionEvent[] = [];
    let user = 0;
    const http = () => request(app.getHttpServer());

    beforeAll(async () => {
      store = new PausingStore(STORES[storeName]());
      // Redis keeps real time: the app's clock starts at it and is only moved forwards.
      clock = new FakeClock(Date.now());
      app = await rotationApp(store, clock, platform);
      app.get<SessionRuntime>(SESSION_RUNTIME).events.subscribe((event) => {
        events.push(event);
      });
    });
    afterAll(async () => {
      await app.close();
    });
    afterEach(() => {
      events = [];
      user++;
    });

    async function signIn() {
      const userId = `rotation-${platform}-${storeName}-${user}`;
      const response = await http().post('/login').send({ userId }).expect(200);
      events = [];
      return { userId, cookie: cookieFrom(response), id: (response.body as { id: string }).id };
    }

    /** Signs in, lets the token age past rotateEvery, and makes one request that rotates it. */
    async function rotated() {
      const first = await signIn();
      const before = (await http().get('/me').set('Cookie', first.cookie).expect(200)).body as {
        createdAt: number;
        authenticatedAt: number;
      };
      clock.advance(EVERY_MS + 1);
      const response = await http().get('/me').set('Cookie', first.cookie).expect(200);
      const cookie = cookieFrom(response);
      expect(cookie).not.toBe(first.cookie);
      const after = (await http().get('/me').set('Cookie', cookie).expect(200)).body as {
        id: string;
      };
      return { ...first, before, cookie, next: after.id, old: first.cookie };
    }

    it('no rotation before rotateEvery: the token stays, no cookie is set', async () => {
      const { cookie, id } = await signIn();
      clock.advance(EVERY_MS - 1_000);
      const response = await http().get('/me').set('Cookie', cookie).expect(200);
      expect(sessionSetCookies(response)).toEqual([]);
      expect((response.body as { id: string }).id).toBe(id);
      expect(events.filter((event) => event.type === 'regenerated')).toEqual([]);
    });

    it('after rotateEvery a normal response hands out a new token: same session, same user, data, createdAt and authenticatedAt', async () => {
      const { userId, id, before, cookie, next } = await rotated();
      expect(next).not.toBe(id);
      const me = (await http().get('/me').set('Cookie', cookie).expect(200)).body as {
        userId: string;
        data: unknown;
        createdAt: number;
        authenticatedAt: number;
      };
      expect(me).toMatchObject({
        userId,
        data: { roles: ['user'] },
        createdAt: before.createdAt,
        authenticatedAt: before.authenticatedAt,
      });
      expect(events).toContainEqual(
        expect.objectContaining({
          type: 'regenerated',
          cause: 'rotation',
          previousSessionId: id,
          sessionId: next,
          userId,
        }),
      );
      expect((await http().get('/sessions').set('Cookie', cookie).expect(200)).body).toEqual([
        next,
      ]);
      // The new token is fresh: no second rotation until rotateEvery has passed again.
      clock.advance(EVERY_MS - 1_000);
      expect(sessionSetCookies(await http().get('/me').set('Cookie', cookie))).toEqual([]);
    });

    it('a failed request does not rotate; the next successful one does', async () => {
      const { cookie } = await signIn();
      clock.advance(EVERY_MS + 1);
      const failed = await http().post('/fail').set('Cookie', cookie).expect(400);
      expect(sessionSetCookies(failed)).toEqual([]);
      expect(events).toEqual([]);
      const ok = await http().get('/me').set('Cookie', cookie).expect(200);
      expect(sessionValues(ok)).toHaveLength(1);
      expect(cookieFrom(ok)).not.toBe(cookie);
    });

    it('a bearer token is never rotated (header transport)', async () => {
      const userId = `rotation-bearer-${platform}-${storeName}-${user}`;
      const { token } = (await http().post('/token').send({ userId }).expect(200)).body as {
        token: string;
      };
      clock.advance(EVERY_MS * 3);
      for (let i = 0; i < 2; i++) {
        const response = await http()
          .get('/me')
          .set('Authorization', `Bearer ${token}`)
          .expect(200);
        expect(response.headers['x-session-token']).toBeUndefined();
        expect(sessionSetCookies(response)).toEqual([]);
      }
      expect(events.filter((event) => event.type === 'regenerated')).toEqual([]);
    });

    it('concurrent requests with the due token all succeed, yield ONE successor, and keep each other’s changes', async () => {
      const { cookie, id } = await signIn();
      clock.advance(EVERY_MS + 1);
      const keys = ['k0', 'k1', 'k2', 'k3', 'k4'];
      // Every request has read the session before any of them saves: all of them rotate.
      const held = store.hold('get', { count: keys.length, matches: (args) => args[0] === id });
      const pending = Promise.all(
        keys.map((key) => Promise.resolve(http().post(`/set/${key}`).set('Cookie', cookie))),
      );
      await held.reached;
      held.release();
      const responses = await pending;
      for (const response of responses) {
        expect(response.status).toBe(200);
      }
      const handedOut = new Set(responses.flatMap(sessionValues));
      expect(handedOut.size).toBe(1);
      const [successor] = [...handedOut];
      expect(successor).not.toBe(cookie);
      const me = (await http().get('/me').set('Cookie', successor).expect(200)).body as {
        id: string;
        data: Record<string, unknown>;
      };
      for (const key of keys) {
        expect(me.data[key]).toBe(`v-${key}`);
      }
      expect((await http().get('/sessions').set('Cookie', successor).expect(200)).body).toEqual([
        me.id,
      ]);
      const rotations = events.filter((event) => event.type === 'regenerated');
      expect(rotations).toHaveLength(1);
      expect(events.filter((event) => event.type === 'revoked')).toEqual([]);
    });

    it('inside the grace window the old token is served the successor (and handed its token), without forking it', async () => {
      const { old, cookie, next } = await rotated();
      clock.advance(GRACE_MS - 1_000);
      const late = await Promise.all(
        [0, 1, 2].map(() => Promise.resolve(http().get('/me').set('Cookie', old))),
      );
      for (const response of late) {
        expect(response.status).toBe(200);
        expect((response.body as { id: string }).id).toBe(next);
        expect(sessionValues(response)).toEqual([cookie]);
      }
      expect((await http().post('/set/tab').set('Cookie', old).expect(200)).status).toBe(200);
      const me = (await http().get('/me').set('Cookie', cookie).expect(200)).body as {
        data: Record<string, unknown>;
      };
      expect(me.data.tab).toBe('v-tab');
      expect((await http().get('/sessions').set('Cookie', cookie).expect(200)).body).toEqual([
        next,
      ]);
      expect(events.filter((event) => event.type === 'revoked')).toEqual([]);
    });

    it('a replay of the old token after the grace window revokes the whole session: 401, cookie cleared, theft-detected', async () => {
      const { old, cookie, next, userId } = await rotated();
      clock.advance(GRACE_MS + 1);
      const replay = await http().get('/me').set('Cookie', old).expect(401);
      expect(sessionSetCookies(replay)).toHaveLength(1);
      expect(sessionSetCookies(replay)[0]).toMatch(/^__Host-sid=;/);
      expect(JSON.stringify(replay.body)).not.toContain(old.split('=')[1].slice(0, 20));
      // The successor's cookie, held by the legitimate client (or the thief), stops working too.
      await http().get('/me').set('Cookie', cookie).expect(401);
      expect(events).toContainEqual(
        expect.objectContaining({
          type: 'revoked',
          reason: 'theft-detected',
          userId,
          sessionIds: [next],
          count: 1,
        }),
      );
      expect(await store.listByUser(userId)).toEqual([]);
      expect(JSON.stringify(events)).not.toContain(old.split('=')[1].slice(0, 43));
    });

    it('a replay after the successor itself was rotated again revokes the latest successor too', async () => {
      const { old, cookie, userId } = await rotated();
      clock.advance(EVERY_MS + 1);
      const again = await http().get('/me').set('Cookie', cookie).expect(200);
      const latest = cookieFrom(again);
      expect(latest).not.toBe(cookie);
      await http().get('/me').set('Cookie', old).expect(401);
      await http().get('/me').set('Cookie', latest).expect(401);
      expect(await store.listByUser(userId)).toEqual([]);
    });

    it('a logout through the old token inside the window ends the successor', async () => {
      const { old, cookie, userId } = await rotated();
      await http().post('/logout').set('Cookie', old).expect(200);
      await http().get('/me').set('Cookie', cookie).expect(401);
      expect(await store.listByUser(userId)).toEqual([]);
    });

    it('revoke(id) with an id listed before a rotation ends the rotated session', async () => {
      const { id, cookie, next, userId } = await rotated();
      const other = await signIn();
      await http().delete(`/sessions/${id}`).set('Cookie', other.cookie).expect(200);
      await http().get('/me').set('Cookie', cookie).expect(401);
      expect((await store.listByUser(userId)).map((record) => record.id)).not.toContain(next);
    });

    it('where no new token can be handed out (fromHeaders, a WebSocket), a rotated-out token opens nothing and is never taken for theft', async () => {
      const { old, cookie, next } = await rotated();
      const sessions = app.get(SessionService);
      for (const advance of [0, GRACE_MS + 1]) {
        clock.advance(advance);
        const detached = await sessions.fromHeaders({ cookie: old });
        expect(detached.isAuthenticated).toBe(false);
      }
      expect(events.filter((event) => event.type === 'revoked')).toEqual([]);
      expect(((await sessions.fromHeaders({ cookie })) as SessionHandle).id).toBe(next);
      await http().get('/me').set('Cookie', cookie).expect(200);
    });

    it('a rotation in flight while the session is logged out elsewhere: 401, no cookie, nothing comes back', async () => {
      const { cookie, id, userId } = await signIn();
      clock.advance(EVERY_MS + 1);
      const held = store.hold('set', {
        matches: (args) => (args[2] as { replaces?: string } | undefined)?.replaces === id,
      });
      const pending = Promise.resolve(http().post('/set/late').set('Cookie', cookie));
      await held.reached;
      await store.destroy(id);
      held.release();
      const response = await pending;
      expect(response.status).toBe(401);
      for (const setCookie of sessionSetCookies(response)) {
        expect(setCookie).toMatch(/^__Host-sid=;/);
      }
      expect(await store.listByUser(userId)).toEqual([]);
      expect(events.filter((event) => event.type === 'regenerated')).toEqual([]);
    });
  });
});

describe.each(PLATFORMS)('token rotation and CSRF (%s)', (platform) => {
  let app: INestApplication;
  const clock = new FakeClock(Date.now());
  const http = () => request(app.getHttpServer());

  beforeAll(async () => {
    app = await rotationApp(new MemoryStore({ now: clock.now }), clock, platform, true);
  });
  afterAll(async () => {
    await app.close();
  });

  it('a CSRF token read before a rotation stays valid after it, with the new cookie and in the grace window with the old', async () => {
    const login = await http()
      .post('/login')
      .send({ userId: `csrf-${platform}` })
      .expect(200);
    const old = cookieFrom(login);
    const { csrfToken } = (await http().get('/csrf').set('Cookie', old).expect(200)).body as {
      csrfToken: string;
    };
    clock.advance(EVERY_MS + 1);
    const cookie = cookieFrom(await http().get('/me').set('Cookie', old).expect(200));
    expect(cookie).not.toBe(old);
    for (const presented of [cookie, old]) {
      await http()
        .post('/set/form')
        .set('Cookie', presented)
        .set('x-csrf-token', csrfToken)
        .expect(200);
    }
    await http()
      .post('/set/form')
      .set('Cookie', cookie)
      .set('x-csrf-token', 'x'.repeat(43))
      .expect(403);
    const now = (await http().get('/csrf').set('Cookie', cookie).expect(200)).body as {
      csrfToken: string;
    };
    expect(now.csrfToken).toBe(csrfToken);
  });
});
