import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Logger, type INestApplication } from '@nestjs/common';
import type { Redis } from 'ioredis';
import {
  MemoryRevocationStore,
  MemoryStore,
  RedisStore,
  SessionOptionsError,
  type RevocationStore,
} from 'nest-secure-session';
import request from 'supertest';
import { Keyring } from '../lib/crypto/keyring.js';
import { seal } from '../lib/crypto/sealed-box.js';
import {
  createSecurityApp,
  FakeClock,
  OTHER_SECRET,
  TEST_SECRET,
  type SecurityAppOptions,
} from './fixtures/security-app.js';
import {
  cookieFrom,
  expectDefaultClearingCookie,
  sessionSetCookies,
  theSessionSetCookie,
} from './fixtures/session-helpers.js';
import { connectRedis, deleteKeysWithPrefix, uniquePrefix } from './support/redis-env.js';

const NAME = '__Host-sid';
const MINUTE = 60_000;
const YEAR = 365 * 24 * 60 * MINUTE;

/** A stateless cookie sealed under `secret`, saying whatever `fields` say (a forgery). */
function forge(secret: string, now: number, fields: Record<string, unknown> = {}): string {
  const record = {
    id: randomBytes(32).toString('base64url'),
    userId: 'mallory',
    data: { roles: JSON.stringify(['user', 'admin']) },
    createdAt: now,
    lastSeenAt: now,
    authenticatedAt: now,
    expiresAt: now + 30 * MINUTE,
    absoluteExpiresAt: now + 12 * 60 * MINUTE,
    userAgent: null,
    ...fields,
  };
  const key = new Keyring([secret], 'cookie-sealing').primary;
  return `${NAME}=${seal(JSON.stringify(record), key, NAME)}`;
}

interface Stateless {
  cookie: string;
  csrfToken: string;
}

describe('stateless revocations', () => {
  const apps: INestApplication[] = [];

  async function boot(options: SecurityAppOptions = {}, clock = new FakeClock()) {
    const booted = await createSecurityApp({ store: 'cookie', ...options }, clock);
    apps.push(booted.app);
    // Hundreds of requests: one listening server rather than one per request.
    await booted.app.listen(0, '127.0.0.1');
    return booted;
  }

  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.close()));
  });

  async function login(
    app: INestApplication,
    userId: string,
    from?: Stateless,
  ): Promise<Stateless> {
    let call = request(app.getHttpServer()).post('/login');
    if (from !== undefined) {
      call = call.set('Cookie', from.cookie).set('x-csrf-token', from.csrfToken);
    }
    const response = await call.send({ userId });
    expect(response.status).toBe(200);
    return { cookie: cookieFrom(response), csrfToken: (response.body as Stateless).csrfToken };
  }

  async function logout(app: INestApplication, session: Stateless, path = '/logout') {
    const response = await request(app.getHttpServer())
      .post(path)
      .set('Cookie', session.cookie)
      .set('x-csrf-token', session.csrfToken);
    expect(response.status).toBe(200);
    expectDefaultClearingCookie(theSessionSetCookie(response));
  }

  /** One round of the flood: an anonymous stateless session, created and logged out. */
  async function anonymousSessionAndLogout(app: INestApplication): Promise<void> {
    const created = await request(app.getHttpServer())
      .post('/anon/write')
      .send({ key: 'junk', value: 1 });
    expect(created.status).toBe(200);
    const cookie = cookieFrom(created);
    const csrf = await request(app.getHttpServer()).get('/csrf').set('Cookie', cookie);
    await logout(app, { cookie, csrfToken: (csrf.body as Stateless).csrfToken }, '/public-logout');
  }

  async function status(app: INestApplication, cookie: string): Promise<number> {
    return (await request(app.getHttpServer()).get('/me').set('Cookie', cookie)).status;
  }

  it("an anonymous flood of logouts cannot push a victim's logout out: the copied cookie stays refused", async () => {
    // A small bound, so that the flood fits in a test: before, the revocations shared the
    // default MemoryStore (maxSessions) and its LRU evicted the oldest one.
    const { app } = await boot({ maxSessions: 50 });
    const victim = await login(app, 'victim');
    const copy = victim.cookie;
    await logout(app, victim);
    expect(await status(app, copy)).toBe(401);
    for (let i = 0; i < 60; i++) {
      await anonymousSessionAndLogout(app);
    }
    expect(await status(app, copy)).toBe(401);
  });

  it('a flood of authenticated logouts past the bound fails closed: older sessions end, the copy stays refused', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const clock = new FakeClock();
    const revocationStore = new MemoryRevocationStore({ maxRevocations: 10, now: clock.now });
    const { app } = await boot({ revocationStore }, clock);
    const bystander = await login(app, 'bystander');
    const victim = await login(app, 'victim');
    const copy = victim.cookie;
    await logout(app, victim);
    clock.advance(MINUTE);
    // Each login that presents a live session revokes it (fixation defence): one entry each.
    let mallory = await login(app, 'mallory');
    for (let i = 0; i < 30; i++) {
      clock.advance(1_000);
      mallory = await login(app, 'mallory', mallory);
    }
    expect(revocationStore.size).toBeLessThanOrEqual(10);
    expect(await status(app, copy)).toBe(401);
    // Failing closed ended the bystander's older session too, and said so once per raise.
    expect(await status(app, bystander.cookie)).toBe(401);
    expect(warn).toHaveBeenCalled();
    for (const [message] of warn.mock.calls) {
      expect(String(message)).toMatch(/^Revocation list full/);
      expect(String(message)).not.toMatch(/victim|mallory|bystander|__Host-sid/);
    }
    // Sessions created afterwards work.
    clock.advance(MINUTE);
    expect(await status(app, (await login(app, 'bystander')).cookie)).toBe(200);
    warn.mockRestore();
  });

  describe('sealed cookies are checked against the configuration', () => {
    it('refuses a cookie forged under a rotated-out key with far-future times, and never re-seals it', async () => {
      const { app, clock } = await boot({ secret: [TEST_SECRET, OTHER_SECRET] });
      const later = clock.now() + 10 * YEAR;
      const forged = forge(OTHER_SECRET, later, {
        expiresAt: later + 30 * MINUTE,
        absoluteExpiresAt: later + 12 * 60 * MINUTE,
      });
      const response = await request(app.getHttpServer()).get('/me').set('Cookie', forged);
      expect(response.status).toBe(401);
      const [setCookie, ...others] = sessionSetCookies(response);
      expect(others).toEqual([]);
      expectDefaultClearingCookie(setCookie);
    });

    it('refuses each time a configuration could not have issued, and accepts honest ones', async () => {
      const { app, clock } = await boot({
        secret: [TEST_SECRET, OTHER_SECRET],
        idleTimeout: '30m',
        absoluteTimeout: '12h',
      });
      const now = clock.now();
      const hour = 60 * MINUTE;
      const refused: Record<string, Record<string, unknown>> = {
        'created in the future': { createdAt: now + MINUTE, lastSeenAt: now + MINUTE },
        'seen in the future': { lastSeenAt: now + MINUTE, expiresAt: now + 31 * MINUTE },
        'seen before created': { lastSeenAt: now - 1 },
        'an absolute lifetime over absoluteTimeout': { absoluteExpiresAt: now + 13 * hour },
        'an idle expiry over idleTimeout': { expiresAt: now + 31 * MINUTE },
        'an idle expiry past the absolute one': {
          expiresAt: now + 20 * MINUTE,
          absoluteExpiresAt: now + 10 * MINUTE,
        },
        'authenticated before created': { authenticatedAt: now - 1 },
        'authenticated in the future': { authenticatedAt: now + MINUTE },
      };
      for (const [label, fields] of Object.entries(refused)) {
        for (const secret of [OTHER_SECRET, TEST_SECRET]) {
          const response = await request(app.getHttpServer())
            .get('/me')
            .set('Cookie', forge(secret, now, fields));
          expect({ label, status: response.status }).toEqual({ label, status: 401 });
          expectDefaultClearingCookie(theSessionSetCookie(response));
        }
      }
      // Within the configuration (and a few seconds of another clock's skew): accepted.
      const honest = [
        {},
        { createdAt: now + 2_000, lastSeenAt: now + 2_000, authenticatedAt: now + 2_000 },
        { createdAt: now - hour, lastSeenAt: now - MINUTE, authenticatedAt: now - hour },
      ];
      for (const fields of honest) {
        const createdAt = (fields as { createdAt?: number }).createdAt ?? now;
        const lastSeenAt = (fields as { lastSeenAt?: number }).lastSeenAt ?? now;
        const cookie = forge(OTHER_SECRET, now, {
          expiresAt: lastSeenAt + 30 * MINUTE,
          absoluteExpiresAt: createdAt + 12 * hour,
          ...fields,
        });
        expect(await status(app, cookie)).toBe(200);
      }
    });
  });

  it('refuses to boot with a MemoryStore as revocationStore (it evicts)', async () => {
    const memoryStore = new MemoryStore();
    await expect(boot({ revocationStore: memoryStore })).rejects.toThrow(SessionOptionsError);
    await expect(boot({ revocationStore: memoryStore })).rejects.toThrow(
      /revocationStore must implement RevocationStore \(revoke, revokeUser, isRevoked\)/,
    );
    memoryStore.close();
  });

  describe('under NODE_ENV=production', () => {
    const nodeEnv = process.env.NODE_ENV;
    afterEach(() => {
      process.env.NODE_ENV = nodeEnv;
    });

    it('warns once at boot without a shared revocation store, and not with one', async () => {
      const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
      process.env.NODE_ENV = 'production';
      const { app } = await boot();
      const mentions = () =>
        warn.mock.calls.filter(([message]) =>
          /store: 'cookie' runs without a shared revocation store/.test(String(message)),
        ).length;
      expect(mentions()).toBe(1);
      await request(app.getHttpServer()).get('/public');
      expect(mentions()).toBe(1);
      await boot({ revocationStore: new MemoryRevocationStore() });
      expect(mentions()).toBe(2);
      const shared: RevocationStore = {
        revoke: async () => undefined,
        revokeUser: async () => undefined,
        isRevoked: async () => false,
      };
      await boot({ revocationStore: shared });
      process.env.NODE_ENV = 'development';
      await boot();
      expect(mentions()).toBe(2);
      warn.mockRestore();
    });
  });

  describe('with a RedisStore as revocationStore', () => {
    let client: Redis;
    const prefix = uniquePrefix('stateless');
    beforeAll(async () => {
      client = await connectRedis();
    });
    afterAll(async () => {
      await deleteKeysWithPrefix(client, prefix);
      await client.quit();
    });

    it('logout, an anonymous flood and revoke-all hold across instances', async () => {
      const clock = new FakeClock();
      const revocationStore = new RedisStore({ client, prefix });
      const { app: one } = await boot({ revocationStore }, clock);
      const { app: two } = await boot({ revocationStore }, clock);
      const alice = await login(one, 'alice');
      expect(await status(two, alice.cookie)).toBe(200);
      await logout(two, alice);
      expect(await status(one, alice.cookie)).toBe(401);
      for (let i = 0; i < 5; i++) {
        await anonymousSessionAndLogout(one);
      }
      // Anonymous logouts wrote nothing: only alice's revocation is there.
      expect(await client.keys(`${prefix}*`)).toHaveLength(1);
      expect(await status(two, alice.cookie)).toBe(401);

      const laptop = await login(one, 'bob');
      clock.advance(1_000);
      const phone = await login(two, 'bob');
      clock.advance(1_000);
      const revoke = await request(one.getHttpServer())
        .post('/revoke-all')
        .set('Cookie', phone.cookie)
        .set('x-csrf-token', phone.csrfToken);
      expect(revoke.status).toBe(200);
      expect(await status(two, laptop.cookie)).toBe(401);
      expect(await status(one, phone.cookie)).toBe(401);
      clock.advance(1_000);
      expect(await status(two, (await login(one, 'bob')).cookie)).toBe(200);
    });
  });
});
