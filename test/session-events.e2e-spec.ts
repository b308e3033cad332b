import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import type { Redis } from 'ioredis';
import {
  MemoryRevocationStore,
  MemoryStore,
  RedisStore,
  SessionEvents,
  type SessionEvent,
  type SessionModuleOptions,
  type SessionStore,
} from 'nest-secure-session';
import request from 'supertest';
import { createTestApp, FakeClock } from './fixtures/test-app.js';
import { cookieFrom, login, valueOf } from './fixtures/session-helpers.js';
import { PLATFORMS } from './support/platforms.js';
import { connectRedis, deleteKeysWithPrefix, uniquePrefix } from './support/redis-env.js';

/**
 * Session events (issue 12, part 2): each scenario asserts the exact events, in order, on
 * every store (MemoryStore, RedisStore on a single node, stateless cookies) and platform.
 */

let redis: Redis;
const prefix = uniquePrefix('events');

beforeAll(async () => {
  redis = await connectRedis();
});
afterAll(async () => {
  if (redis !== undefined) {
    await deleteKeysWithPrefix(redis, prefix);
    await redis.quit();
  }
});

type StoreName = 'MemoryStore' | 'RedisStore' | 'cookie';
const STORES: Record<StoreName, () => SessionStore | 'cookie'> = {
  MemoryStore: () => new MemoryStore(),
  RedisStore: () => new RedisStore({ client: redis, prefix }),
  cookie: () => 'cookie',
};

const open: INestApplication[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((app) => app.close()));
});

/** An app on `platform` with the store, and the events it emits, as plain objects. */
async function appWith(
  platform: (typeof PLATFORMS)[number],
  storeName: StoreName,
  options: Partial<SessionModuleOptions> = {},
  clock = new FakeClock(Date.now()),
): Promise<{ app: INestApplication; events: SessionEvent[]; clock: FakeClock }> {
  const { app } = await createTestApp({ store: STORES[storeName](), ...options }, clock, platform);
  open.push(app);
  const events: SessionEvent[] = [];
  app.get(SessionEvents).subscribe((event) => {
    events.push(event);
  });
  return { app, events, clock };
}

/** The events without their time (checked once: a `Date` from the app's clock). */
function withoutTime(events: SessionEvent[], clock: FakeClock): Record<string, unknown>[] {
  return events.map(({ at, ...rest }) => {
    expect(at).toEqual(new Date(clock.current));
    return rest;
  });
}

let users = 0;
const newUser = (label: string) => `${label}-${++users}`;

describe.each(PLATFORMS)('session events (%s)', (platform) => {
  describe.each(Object.keys(STORES) as StoreName[])('%s', (storeName) => {
    const serverSide = storeName !== 'cookie';

    it('created, authenticated (with the session it replaced), regenerated, then logout: never a token', async () => {
      const { app, events, clock } = await appWith(platform, storeName);
      const http = () => request(app.getHttpServer());
      const anonymous = await http().post('/anon/theme').send({ theme: 'dark' });
      const anonymousCookie = cookieFrom(anonymous);
      expect(events).toHaveLength(1);
      const anonymousId = (events[0] as { sessionId: string }).sessionId;
      const userId = newUser('alice');
      const { cookie, id } = await login(app, userId, { cookie: anonymousCookie });
      const regenerated = await http().post('/regenerate-and-write').set('Cookie', cookie);
      expect(regenerated.status).toBe(200);
      const movedId = (regenerated.body as { id: string }).id;
      const moved = cookieFrom(regenerated);
      expect((await http().post('/logout').set('Cookie', moved)).status).toBe(200);

      expect(withoutTime(events, clock)).toEqual([
        { type: 'created', sessionId: anonymousId },
        { type: 'authenticated', sessionId: id, userId, previousSessionId: anonymousId },
        {
          type: 'regenerated',
          sessionId: movedId,
          previousSessionId: id,
          userId,
          cause: 'regenerate',
        },
        { type: 'revoked', reason: 'logout', userId, sessionIds: [movedId], count: 1 },
      ]);
      const text = JSON.stringify(events);
      for (const secret of [anonymousCookie, cookie, moved].map(valueOf)) {
        expect(text).not.toContain(secret);
        expect(text).not.toContain(secret.split('.')[0]);
      }
    });

    it('a login without a session, and a request that saves nothing: no created event', async () => {
      const { app, events, clock } = await appWith(platform, storeName);
      expect((await request(app.getHttpServer()).get('/anon/peek')).status).toBe(200);
      expect(events).toEqual([]);
      const userId = newUser('bob');
      const { id } = await login(app, userId);
      expect(withoutTime(events, clock)).toEqual([
        { type: 'authenticated', sessionId: id, userId, previousSessionId: null },
      ]);
    });

    it('revoke-all: the count of ended sessions (-1 when stateless), by the user', async () => {
      const { app, events, clock } = await appWith(platform, storeName);
      const userId = newUser('carol');
      await login(app, userId);
      await login(app, userId);
      const current = await login(app, userId);
      events.length = 0;
      const response = await request(app.getHttpServer())
        .post('/logout-others')
        .set('Cookie', current.cookie);
      expect(response.status).toBe(200);
      expect(withoutTime(events, clock)).toEqual([
        {
          type: 'revoked',
          reason: 'revoke-all',
          userId,
          sessionIds: [],
          count: serverSide ? 2 : -1,
        },
      ]);
    });

    it("expired, source 'seen': the library finds a session past its idle timeout", async () => {
      const { app, events, clock } = await appWith(platform, storeName, { idleTimeout: '10m' });
      const userId = newUser('dave');
      const { cookie, id } = await login(app, userId);
      events.length = 0;
      clock.advance(10 * 60_000 + 1);
      const response = await request(app.getHttpServer()).get('/me').set('Cookie', cookie);
      expect(response.status).toBe(401);
      // These stores keep real time, so they still hold it: the library's own check finds it.
      const expired = { type: 'expired', sessionId: id, userId, source: 'seen' };
      expect(withoutTime(events, clock)).toEqual([expired]);
      expect((await request(app.getHttpServer()).get('/me').set('Cookie', cookie)).status).toBe(
        401,
      );
      // Server-side, the session is gone now; a stateless cookie is found expired again each
      // time it comes back (its browser was told to drop it).
      expect(withoutTime(events, clock)).toEqual(serverSide ? [expired] : [expired, expired]);
    });

    if (serverSide) {
      it('revoke(id): the id, by reason revoke', async () => {
        const { app, events, clock } = await appWith(platform, storeName);
        const userId = newUser('erin');
        const laptop = await login(app, userId);
        const phone = await login(app, userId);
        events.length = 0;
        const response = await request(app.getHttpServer())
          .delete(`/sessions/${laptop.id}`)
          .set('Cookie', phone.cookie);
        expect(response.status).toBe(200);
        expect(withoutTime(events, clock)).toEqual([
          { type: 'revoked', reason: 'revoke', userId: null, sessionIds: [laptop.id], count: 1 },
        ]);
      });

      it('limit-eviction: the evicted sessions, then the login that evicted them', async () => {
        const { app, events, clock } = await appWith(platform, storeName, {
          maxSessionsPerUser: 2,
        });
        const userId = newUser('frank');
        const first = await login(app, userId);
        clock.advance(1_000); // The oldest is the one created first: ties are not ordered.
        const second = await login(app, userId);
        clock.advance(1_000);
        events.length = 0;
        const third = await login(app, userId);
        expect(withoutTime(events, clock)).toEqual([
          {
            type: 'revoked',
            reason: 'limit-eviction',
            userId,
            sessionIds: [first.id],
            count: 1,
          },
          { type: 'authenticated', sessionId: third.id, userId, previousSessionId: null },
        ]);
        const me = (cookie: string) =>
          request(app.getHttpServer()).get('/me').set('Cookie', cookie);
        expect((await me(first.cookie)).status).toBe(401);
        expect((await me(second.cookie)).status).toBe(200);
      });

      it("a login refused by the limit ('refuse') emits nothing", async () => {
        const { app, events } = await appWith(platform, storeName, {
          maxSessionsPerUser: 1,
          sessionLimitPolicy: 'refuse',
        });
        const userId = newUser('grace');
        await login(app, userId);
        events.length = 0;
        const refused = await request(app.getHttpServer()).post('/login').send({ userId });
        expect(refused.status).toBe(409);
        expect(events).toEqual([]);
      });
    }
  });

  it("expired, source 'seen', from the default MemoryStore (on the app's clock), once", async () => {
    const clock = new FakeClock(Date.now());
    const { app } = await createTestApp({ idleTimeout: '10m' }, clock, platform);
    open.push(app);
    const events: SessionEvent[] = [];
    app.get(SessionEvents).subscribe((event) => {
      events.push(event);
    });
    const userId = newUser('mallory');
    const { cookie, id } = await login(app, userId);
    events.length = 0;
    clock.advance(10 * 60_000);
    for (let i = 0; i < 2; i++) {
      expect((await request(app.getHttpServer()).get('/me').set('Cookie', cookie)).status).toBe(
        401,
      );
    }
    expect(withoutTime(events, clock)).toEqual([
      { type: 'expired', sessionId: id, userId, source: 'seen' },
    ]);
  });

  it('store-failure on a Redis that went away: get, and the client error class', async () => {
    const client = await connectRedis();
    const { app, events, clock } = await appWith(platform, 'RedisStore', {
      store: new RedisStore({ client, prefix }),
    });
    const { cookie } = await login(app, newUser('niaj'));
    events.length = 0;
    client.disconnect();
    const response = await request(app.getHttpServer()).get('/me').set('Cookie', cookie);
    expect(response.status).toBe(503);
    expect(withoutTime(events, clock)).toEqual([
      { type: 'store-failure', operation: 'get', error: 'Error' },
    ]);
    const publicRoute = await request(app.getHttpServer()).get('/public').set('Cookie', cookie);
    expect(publicRoute.status).toBe(200);
  });

  it('store-failure: the operation and the error class, never its message; the request 503', async () => {
    class StoreOutageError extends Error {}
    const store = new MemoryStore();
    const failing = Object.assign(Object.create(store) as MemoryStore, {
      get: () => Promise.reject(new StoreOutageError('redis://user:hunter2@10.0.0.7 timed out')),
    });
    const { app, events, clock } = await appWith(platform, 'MemoryStore', { store: failing });
    const userId = newUser('heidi');
    const { cookie } = await login(app, userId);
    events.length = 0;
    const response = await request(app.getHttpServer()).get('/me').set('Cookie', cookie);
    expect(response.status).toBe(503);
    expect(withoutTime(events, clock)).toEqual([
      { type: 'store-failure', operation: 'get', error: 'StoreOutageError' },
    ]);
    expect(JSON.stringify(events)).not.toContain('hunter2');
  });

  it("store-failure in stateless mode: the revocation store's isRevoked", async () => {
    class RevocationOutageError extends Error {}
    const revocations = new MemoryRevocationStore();
    const { app, events, clock } = await appWith(platform, 'cookie', {
      revocationStore: {
        revoke: (id, until, now) => revocations.revoke(id, until, now),
        revokeUser: (userId, notBefore, until, now) =>
          revocations.revokeUser(userId, notBefore, until, now),
        isRevoked: () => Promise.reject(new RevocationOutageError('down')),
      },
    });
    const { cookie } = await login(app, newUser('olga'));
    events.length = 0;
    expect((await request(app.getHttpServer()).get('/me').set('Cookie', cookie)).status).toBe(503);
    expect(withoutTime(events, clock)).toEqual([
      { type: 'store-failure', operation: 'isRevoked', error: 'RevocationOutageError' },
    ]);
  });

  it('a listener that throws or rejects fails no request, and the others still get the event', async () => {
    const { app, events } = await appWith(platform, 'MemoryStore');
    const hub = app.get(SessionEvents);
    hub.subscribe(() => {
      throw new Error('listener bug');
    });
    hub.subscribe(() => Promise.reject(new Error('async listener bug')));
    const seen: string[] = [];
    const stop = hub.on('authenticated', (event) => {
      seen.push(event.userId);
    });
    const userId = newUser('ivan');
    await login(app, userId);
    stop();
    await login(app, newUser('judy'));
    expect(seen).toEqual([userId]);
    expect(events.map((event) => event.type)).toEqual(['authenticated', 'authenticated']);
  });

  it('observe(): an rxjs Observable of the chosen types', async () => {
    const { app } = await appWith(platform, 'MemoryStore');
    const types: string[] = [];
    const subscription = app
      .get(SessionEvents)
      .observe('revoked')
      .subscribe((event) => types.push(`${event.type}:${event.reason}`));
    const { cookie } = await login(app, newUser('kim'));
    await request(app.getHttpServer()).post('/logout').set('Cookie', cookie);
    subscription.unsubscribe();
    await login(app, newUser('leo'));
    expect(types).toEqual(['revoked:logout']);
  });
});
