import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Module, type INestApplication } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import type { Redis } from 'ioredis';
import {
  RedisStore,
  SessionEvents,
  SessionModule,
  SessionStore,
  type SessionEvent,
  type SessionModuleOptions,
} from 'nest-secure-session';
import request from 'supertest';
import { TEST_CONTROLLERS, TEST_SECRET } from './fixtures/test-app.js';
import { cookieFrom, sessionSetCookies } from './fixtures/session-helpers.js';
import { PLATFORMS, type Platform } from './support/platforms.js';
import { connectRedis, deleteKeysWithPrefix, uniquePrefix } from './support/redis-env.js';

/**
 * Hijack signals (issue 12, part 4): a coarse client fingerprint recorded at login, compared on
 * later requests behind a trusted proxy (X-Forwarded-For) — and a spoofed X-Forwarded-For
 * ignored without one — with each policy on both platforms.
 */

const CHROME_131 =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const CHROME_132 = CHROME_131.replace('131.0.0.0', '132.0.0.0');
const HOME = '203.0.113.7';
const HOME_NEIGHBOUR = '203.0.113.99'; // Same /24.
const ELSEWHERE = '198.51.100.5';

let redis: Redis;
const prefix = uniquePrefix('hijack');
beforeAll(async () => {
  redis = await connectRedis();
});
afterAll(async () => {
  if (redis !== undefined) {
    await deleteKeysWithPrefix(redis, prefix);
    await redis.quit();
  }
});

const open: INestApplication[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((app) => app.close()));
});

/** An app on `platform`, behind a trusted proxy on loopback unless `trustProxy` is false. */
async function appWith(
  platform: Platform,
  options: Partial<SessionModuleOptions>,
  trustProxy = true,
): Promise<{ app: INestApplication; events: SessionEvent[] }> {
  @Module({
    imports: [
      SessionModule.forRoot({ secret: TEST_SECRET, global: true, csrf: false, ...options }),
    ],
    controllers: TEST_CONTROLLERS,
  })
  class HijackAppModule {}
  const moduleRef = await Test.createTestingModule({ imports: [HijackAppModule] }).compile();
  let app: INestApplication;
  if (platform === 'express') {
    const express = moduleRef.createNestApplication<NestExpressApplication>({ logger: false });
    if (trustProxy) {
      express.set('trust proxy', 'loopback');
    }
    app = await express.init();
  } else {
    const fastify = moduleRef.createNestApplication<NestFastifyApplication>(
      new FastifyAdapter({ trustProxy }),
      { logger: false },
    );
    await fastify.init();
    await fastify.getHttpAdapter().getInstance().ready();
    app = fastify;
  }
  open.push(app);
  const events: SessionEvent[] = [];
  app.get(SessionEvents).subscribe((event) => {
    if (event.type === 'hijack-suspected' || event.type === 'revoked') {
      events.push(event);
    }
  });
  return { app, events };
}

/** A client: its address (as the proxy forwards it) and its browser. */
interface Client {
  ip: string;
  agent: string;
}

function clientOf(app: INestApplication) {
  const http = () => request(app.getHttpServer());
  return {
    async login(userId: string, client: Client) {
      const response = await http()
        .post('/login')
        .set('X-Forwarded-For', client.ip)
        .set('User-Agent', client.agent)
        .send({ userId });
      expect(response.status).toBe(200);
      return { cookie: cookieFrom(response), id: (response.body as { id: string }).id };
    },
    get(path: string, cookie: string, client: Client) {
      return http()
        .get(path)
        .set('Cookie', cookie)
        .set('X-Forwarded-For', client.ip)
        .set('User-Agent', client.agent);
    },
    post(path: string, cookie: string, client: Client) {
      return http()
        .post(path)
        .set('Cookie', cookie)
        .set('X-Forwarded-For', client.ip)
        .set('User-Agent', client.agent);
    },
  };
}

const strip = (events: SessionEvent[]) => events.map(({ at: _at, ...rest }) => rest);

describe.each(PLATFORMS)('hijack signals (%s)', (platform) => {
  it("'log' (the default): one event per change of network or browser, the session untouched; the store keeps no address", async () => {
    const { app, events } = await appWith(platform, {});
    const client = clientOf(app);
    const home = { ip: HOME, agent: CHROME_131 };
    const { cookie, id } = await client.login('alice', home);

    expect((await client.get('/me', cookie, { ...home, ip: HOME_NEIGHBOUR })).status).toBe(200);
    expect(events).toEqual([]);

    const away = { ip: ELSEWHERE, agent: CHROME_131 };
    expect((await client.get('/me', cookie, away)).status).toBe(200);
    expect((await client.get('/me', cookie, away)).status).toBe(200);
    const updated = { ip: ELSEWHERE, agent: CHROME_132 };
    expect((await client.get('/me', cookie, updated)).status).toBe(200);
    expect((await client.get('/me', cookie, { ip: ELSEWHERE, agent: 'curl/8.5.0' })).status).toBe(
      200,
    );
    expect((await client.get('/me', cookie, home)).status).toBe(200);

    const suspected = (changed: string[]) => ({
      type: 'hijack-suspected',
      sessionId: id,
      userId: 'alice',
      changed,
      action: 'log',
    });
    expect(strip(events)).toEqual([
      suspected(['network']),
      suspected(['user-agent']),
      suspected(['user-agent', 'network']),
    ]);

    const stored = await app.get<SessionStore>(SessionStore).get(id);
    expect(stored?.client).toEqual({
      agent: 'chrome/131',
      network: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/),
      stepUp: false,
    });
    expect(JSON.stringify(stored)).not.toMatch(/203\.0\.113|198\.51\.100/);
  });

  it('IPv6: a new address in the same /64 is the same network; another /64 is not', async () => {
    const { app, events } = await appWith(platform, {});
    const client = clientOf(app);
    const { cookie } = await client.login('bob', { ip: '2001:db8:1:2::5', agent: CHROME_131 });
    const privacy = { ip: '2001:db8:1:2:a4f1:9c2e:7b3d:11', agent: CHROME_131 };
    expect((await client.get('/me', cookie, privacy)).status).toBe(200);
    expect(events).toEqual([]);
    expect(
      (await client.get('/me', cookie, { ip: '2001:db8:1:3::5', agent: CHROME_131 })).status,
    ).toBe(200);
    expect(strip(events).map((event) => (event as { changed: string[] }).changed)).toEqual([
      ['network'],
    ]);
  });

  it('network: false compares the browser only; hijackSignals: false compares nothing', async () => {
    const browserOnly = await appWith(platform, { hijackSignals: { network: false } });
    let client = clientOf(browserOnly.app);
    let { cookie } = await client.login('carol', { ip: HOME, agent: CHROME_131 });
    await client.get('/me', cookie, { ip: ELSEWHERE, agent: CHROME_131 });
    expect(browserOnly.events).toEqual([]);
    await client.get('/me', cookie, { ip: ELSEWHERE, agent: CHROME_132 });
    expect(strip(browserOnly.events)).toEqual([
      expect.objectContaining({ changed: ['user-agent'], action: 'log' }),
    ]);

    const off = await appWith(platform, { hijackSignals: false });
    client = clientOf(off.app);
    ({ cookie } = await client.login('carol', { ip: HOME, agent: CHROME_131 }));
    await client.get('/me', cookie, { ip: ELSEWHERE, agent: CHROME_132 });
    expect(off.events).toEqual([]);
  });

  it('without a trusted proxy, a spoofed X-Forwarded-For is ignored (the peer address counts)', async () => {
    const { app, events } = await appWith(platform, { hijackSignals: { policy: 'revoke' } }, false);
    const client = clientOf(app);
    const { cookie } = await client.login('dave', { ip: HOME, agent: CHROME_131 });
    for (const ip of [ELSEWHERE, '2001:db8::1', 'not-an-address']) {
      expect((await client.get('/me', cookie, { ip, agent: CHROME_131 })).status).toBe(200);
    }
    expect(events).toEqual([]);
  });

  it("'revoke': the session ends on a change (401, cookie cleared) and stays ended from home too", async () => {
    const { app, events } = await appWith(platform, { hijackSignals: { policy: 'revoke' } });
    const client = clientOf(app);
    const home = { ip: HOME, agent: CHROME_131 };
    const { cookie, id } = await client.login('erin', home);
    expect((await client.get('/me', cookie, home)).status).toBe(200);

    const stolen = await client.get('/me', cookie, { ip: ELSEWHERE, agent: CHROME_131 });
    expect(stolen.status).toBe(401);
    expect(sessionSetCookies(stolen)[0]).toMatch(/Max-Age=0/);
    expect((await client.get('/me', cookie, home)).status).toBe(401);
    expect(strip(events)).toEqual([
      {
        type: 'hijack-suspected',
        sessionId: id,
        userId: 'erin',
        changed: ['network'],
        action: 'revoke',
      },
      {
        type: 'revoked',
        reason: 'hijack-suspected',
        userId: 'erin',
        sessionIds: [id],
        count: 1,
      },
    ]);
  });

  describe.each(['MemoryStore', 'RedisStore', 'cookie'] as const)("'step-up' (%s)", (storeName) => {
    it('a change makes the session not fresh (401 reauthenticate) until a new login; other routes keep working', async () => {
      const store =
        storeName === 'RedisStore'
          ? new RedisStore({ client: redis, prefix })
          : storeName === 'cookie'
            ? ('cookie' as const)
            : undefined;
      const { app, events } = await appWith(platform, {
        hijackSignals: { policy: 'step-up' },
        ...(store === undefined ? {} : { store }),
      });
      const client = clientOf(app);
      const home = { ip: HOME, agent: CHROME_131 };
      let { cookie } = await client.login('frank', home);
      expect((await client.post('/sensitive', cookie, home)).status).toBe(200);

      const away = { ip: ELSEWHERE, agent: CHROME_131 };
      const refused = await client.post('/sensitive', cookie, away);
      expect(refused.status).toBe(401);
      expect(refused.body).toMatchObject({ reauthenticate: true });
      const me = await client.get('/me', cookie, away);
      expect(me.status).toBe(200);
      if (storeName === 'cookie') {
        // Stateless, the change travels in the cookie, re-sealed on the next response that
        // saves (an error response saves nothing: the 401 above did not).
        cookie = cookieFrom(me);
      }
      expect((await client.post('/sensitive', cookie, home)).status).toBe(401);
      const stepUp = expect.objectContaining({
        type: 'hijack-suspected',
        changed: ['network'],
        action: 'step-up',
      });
      const raised = storeName === 'cookie' ? 3 : 2;
      expect(strip(events)).toEqual(Array<unknown>(raised).fill(stepUp));

      ({ cookie } = await client.login('frank', away));
      expect((await client.post('/sensitive', cookie, away)).status).toBe(200);
      expect(events).toHaveLength(raised);
    });
  });
});
