import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { COOKIE_NAME } from './fixtures/session-helpers.js';
import {
  connectRedis,
  deleteKeysWithPrefix,
  REDIS_URL,
  uniquePrefix,
} from './support/redis-env.js';
import { platformAt, PLATFORMS } from './support/platforms.js';
import { buildLibraryAndSample, startSample, type NodeServer } from './support/sample-process.js';

/*
 * Two processes of the built sample app (`node sample/dist/main.js`) on one Redis — the shared
 * one at REDIS_URL, under a key prefix of this run only (cleaned up after; never FLUSHed) —
 * with the same SESSION_SECRET, as two instances behind a load balancer would run; once with
 * both on Express, once with both on Fastify (`SESSION_PLATFORM`). Nothing here is skipped:
 * an unreachable Redis fails the suite, with CI=true and without.
 */

/** Building the library and the sample can take a while on a cold machine. */
const SETUP_TIMEOUT_MS = 240_000;
const REQUEST_TIMEOUT_MS = 10_000;

interface Reply {
  status: number;
  body: unknown;
  /** `Set-Cookie` headers naming the session cookie. */
  sessionCookies: string[];
}

/** One HTTP request to an instance, bounded by `REQUEST_TIMEOUT_MS`. */
async function call(
  instance: NodeServer,
  path: string,
  options: {
    method?: string;
    cookie?: string;
    json?: unknown;
    headers?: Record<string, string>;
  } = {},
): Promise<Reply> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.cookie !== undefined) {
    headers.cookie = options.cookie;
  }
  if (options.json !== undefined) {
    headers['content-type'] = 'application/json';
  }
  const response = await fetch(instance.url + path, {
    method: options.method ?? 'GET',
    headers,
    body: options.json === undefined ? undefined : JSON.stringify(options.json),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Not JSON: keep the text.
  }
  return {
    status: response.status,
    body,
    sessionCookies: response.headers
      .getSetCookie()
      .filter((entry) => entry.startsWith(`${COOKIE_NAME}=`)),
  };
}

/** Logs alice in on `instance`; resolves with the `name=value` session cookie. */
async function loginAlice(
  instance: NodeServer,
  userAgent = 'multi-instance-test',
): Promise<string> {
  const reply = await call(instance, '/auth/login', {
    method: 'POST',
    json: { username: 'alice', password: 'alice-password' },
    headers: { 'user-agent': userAgent },
  });
  expect(reply.status).toBe(200);
  expect(reply.body).toEqual({ userId: 'alice', roles: ['user'], csrfToken: expect.any(String) });
  expect(reply.sessionCookies).toHaveLength(1);
  const pair = reply.sessionCookies[0].split(';')[0];
  expect(pair.length).toBeGreaterThan(COOKIE_NAME.length + 1);
  return pair;
}

/** The CSRF token of the session behind `cookie`, as `instance` computes it. */
async function csrfToken(instance: NodeServer, cookie: string): Promise<string> {
  const reply = await call(instance, '/auth/csrf', { cookie });
  expect(reply.status).toBe(200);
  const token = (reply.body as { csrfToken?: unknown }).csrfToken;
  expect(typeof token).toBe('string');
  return token as string;
}

function clearsCookie(reply: Reply): boolean {
  return reply.sessionCookies.some((entry) => entry.startsWith(`${COOKIE_NAME}=;`));
}

async function countKeys(redis: Redis, prefix: string): Promise<number> {
  let cursor = '0';
  let count = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    count += keys.length;
  } while (cursor !== '0');
  return count;
}

describe.each(PLATFORMS)(
  'two sample-app instances sharing sessions through Redis (%s)',
  (platform) => {
    const prefix = uniquePrefix('multi');
    let redis: Redis;
    let a: NodeServer;
    let b: NodeServer;

    beforeAll(async () => {
      redis = await connectRedis(); // throws (fails the suite) when Redis is unreachable
      await buildLibraryAndSample();
      const env = {
        REDIS_URL,
        SESSION_PREFIX: prefix,
        // The same secret on every instance: each must verify cookies the others signed.
        SESSION_SECRET: randomBytes(32).toString('base64url'),
        NODE_ENV: undefined,
        SESSION_PLATFORM: platform,
      };
      // Both start at once; should one fail, the other is still stopped in afterAll.
      const [first, second] = await Promise.allSettled([startSample(env), startSample(env)]);
      a = first.status === 'fulfilled' ? first.value : (undefined as unknown as NodeServer);
      b = second.status === 'fulfilled' ? second.value : (undefined as unknown as NodeServer);
      for (const result of [first, second]) {
        if (result.status === 'rejected') {
          throw result.reason;
        }
      }
      expect(a.pid).not.toBe(b.pid);
      expect(a.port).not.toBe(b.port);
      expect([await platformAt(a.url), await platformAt(b.url)]).toEqual([platform, platform]);
    }, SETUP_TIMEOUT_MS);

    afterAll(async () => {
      const stopping = performance.now();
      await Promise.all([a?.stop(), b?.stop()]);
      if (a !== undefined && b !== undefined) {
        process.stderr.write(
          `\nmulti-instance (${platform}): both sample processes stopped (SIGTERM by pid) in ${(performance.now() - stopping).toFixed(0)}ms\n`,
        );
      }
      if (redis !== undefined) {
        await deleteKeysWithPrefix(redis, prefix);
        await redis.quit();
      }
    });

    it('reads on B a session created on A; a logout on B is honoured by A', async () => {
      const cookie = await loginAlice(a);
      expect(await countKeys(redis, prefix)).toBeGreaterThan(0); // the sample uses SESSION_PREFIX

      for (const instance of [a, b]) {
        const me = await call(instance, '/me', { cookie });
        expect({ port: instance.port, status: me.status, body: me.body }).toEqual({
          port: instance.port,
          status: 200,
          body: { userId: 'alice', roles: ['user'] },
        });
      }

      // CSRF is on in the sample: a cookie-authenticated POST without the token is refused,
      // and the session survives it.
      const unprotected = await call(b, '/auth/logout', { method: 'POST', cookie });
      expect(unprotected.status).toBe(403);
      expect((await call(a, '/me', { cookie })).status).toBe(200);

      // The token B computes for the session works on B (and is the one A would compute).
      const token = await csrfToken(b, cookie);
      expect(await csrfToken(a, cookie)).toBe(token);
      const logout = await call(b, '/auth/logout', {
        method: 'POST',
        cookie,
        headers: { 'x-csrf-token': token },
      });
      expect(logout.status).toBe(200);
      expect(logout.body).toEqual({ loggedOut: true });
      expect(clearsCookie(logout)).toBe(true);

      for (const instance of [a, b]) {
        const me = await call(instance, '/me', { cookie });
        expect({ port: instance.port, status: me.status }).toEqual({
          port: instance.port,
          status: 401,
        });
        expect(clearsCookie(me)).toBe(true);
      }
    });

    it('lists on B the sessions created on A; revoke-all from A ends the session used on B', async () => {
      const first = await loginAlice(a, 'multi-instance A/1');
      const second = await loginAlice(a, 'multi-instance A/2');
      expect(first).not.toBe(second);
      expect((await call(b, '/me', { cookie: second })).status).toBe(200);

      const listed = await call(b, '/auth/sessions', { cookie: second });
      expect(listed.status).toBe(200);
      const sessions = listed.body as {
        id: string;
        userAgent: string | null;
        current: boolean;
        createdAt: unknown;
        lastSeenAt: unknown;
      }[];
      // Exactly alice's live sessions (the first test's was logged out), both created on A.
      expect(sessions.map((session) => session.userAgent).sort()).toEqual([
        'multi-instance A/1',
        'multi-instance A/2',
      ]);
      expect(sessions.filter((session) => session.current).map((s) => s.userAgent)).toEqual([
        'multi-instance A/2',
      ]);
      for (const session of sessions) {
        // Public ids only: neither cookie's token appears in the listing.
        for (const cookie of [first, second]) {
          const token = cookie.slice(COOKIE_NAME.length + 1).split('.')[0];
          expect(JSON.stringify(session)).not.toContain(token);
        }
      }
      // A lists the same sessions.
      const fromA = await call(a, '/auth/sessions', { cookie: first });
      expect((fromA.body as { id: string }[]).map((s) => s.id).sort()).toEqual(
        sessions.map((s) => s.id).sort(),
      );

      const revokeAll = await call(a, '/auth/logout-all', {
        method: 'POST',
        cookie: first,
        headers: { 'x-csrf-token': await csrfToken(a, first) },
      });
      expect(revokeAll.status).toBe(200);
      expect(revokeAll.body).toEqual({ revoked: 2 });

      expect((await call(b, '/me', { cookie: second })).status).toBe(401);
      expect((await call(a, '/me', { cookie: second })).status).toBe(401);
      expect((await call(b, '/me', { cookie: first })).status).toBe(401);
      expect((await call(a, '/me', { cookie: first })).status).toBe(401);
    });

    it('accepts on A a bearer token issued by B (header transport)', async () => {
      const issued = await call(b, '/auth/token', {
        method: 'POST',
        json: { username: 'admin', password: 'admin-password' },
      });
      expect(issued.status).toBe(200);
      expect(issued.sessionCookies).toEqual([]);
      const token = (issued.body as { token: string }).token;
      const admin = await call(a, '/admin', { headers: { authorization: `Bearer ${token}` } });
      expect(admin.status).toBe(200);
      expect(admin.body).toEqual({ userId: 'admin', admin: true });
      // Header clients are exempt from CSRF: logging out on A with the bearer token ends it on B.
      const logout = await call(a, '/auth/logout', {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
      });
      expect(logout.status).toBe(200);
      expect(
        (await call(b, '/admin', { headers: { authorization: `Bearer ${token}` } })).status,
      ).toBe(401);
    });
  },
);
