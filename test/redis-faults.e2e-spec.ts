import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { Redis, type RedisOptions } from 'ioredis';
import { RedisStore, SessionStore } from 'nest-secure-session';
import { performance } from 'node:perf_hooks';
import { runInThisContext } from 'node:vm';
import { COOKIE_NAME } from './fixtures/session-helpers.js';
import { createTestApp } from './fixtures/test-app.js';
import { PLATFORMS, type Platform } from './support/platforms.js';
import { uniquePrefix } from './support/redis-env.js';
import { startRedisProcess, type RedisProcess } from './support/redis-process.js';
import { startRedisServer, type RedisServer } from './support/redis-server.js';

/*
 * Fault tests of the fail-closed contract (issue 3, point 6) against this suite's OWN
 * redis-server processes on free loopback ports; the shared Redis is never touched. Nothing
 * here is skipped: without `redis-server` the suite fails, with CI=true and without.
 */

const COMMAND_TIMEOUT_MS = 1_000;

/** The client configuration RedisStore's JSDoc prescribes for failing closed. */
const FAIL_CLOSED: RedisOptions = {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  commandTimeout: COMMAND_TIMEOUT_MS,
  connectTimeout: 1_000,
  lazyConnect: false,
};

/** Upper bound on any one HTTP request: a hanging request fails the test, not jest's timeout. */
const REQUEST_TIMEOUT_MS = 5_000;
/** Upper bound on waiting for something to happen (traffic to flow, the app to recover). */
const WAIT_TIMEOUT_MS = 10_000;
const CONCURRENCY = 20;

const UNAVAILABLE_BODY = {
  statusCode: 503,
  error: 'Service Unavailable',
  message: expect.stringMatching(/session store is unavailable/i),
};

/** Outcomes worth reporting (latencies, recovery times), printed once at the end. */
const measured: string[] = [];

// Jest runs a test file with a copy of `process` whose listeners never fire: listen on the
// real one. (Jest 30 also fails the running test on an unhandled rejection; this listener
// states the requirement here and names the culprit.)
const realProcess = runInThisContext('process') as NodeJS.Process;
const processErrors: { event: string; error: string }[] = [];
const onUnhandledRejection = (reason: unknown): void => {
  processErrors.push({ event: 'unhandledRejection', error: String(reason) });
};
const onUncaughtException = (error: Error): void => {
  processErrors.push({ event: 'uncaughtException', error: String(error) });
};
beforeAll(() => {
  realProcess.on('unhandledRejection', onUnhandledRejection);
  realProcess.on('uncaughtException', onUncaughtException);
});
afterEach(() => {
  expect(processErrors).toEqual([]);
});
afterAll(async () => {
  await sleep(100); // let late rejections (after the apps closed) surface
  realProcess.off('unhandledRejection', onUnhandledRejection);
  realProcess.off('uncaughtException', onUncaughtException);
  if (measured.length > 0) {
    process.stderr.write(`\nredis-faults measurements:\n  ${measured.join('\n  ')}\n`);
  }
  expect(processErrors).toEqual([]);
});

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `probe` until it returns a value, for at most `WAIT_TIMEOUT_MS`. */
async function waitFor<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + WAIT_TIMEOUT_MS;
  for (;;) {
    const value = await probe();
    if (value !== undefined) {
      return value;
    }
    if (Date.now() > deadline) {
      throw new Error(`Timed out after ${WAIT_TIMEOUT_MS} ms waiting for ${what}`);
    }
    await sleep(50);
  }
}

interface Reply {
  status: number;
  body: unknown;
  /** `Set-Cookie` headers naming the session cookie. */
  sessionCookies: string[];
  ms: number;
}

/** One HTTP request, bounded by `REQUEST_TIMEOUT_MS`. */
async function call(
  base: string,
  path: string,
  options: { method?: string; cookie?: string; json?: unknown } = {},
): Promise<Reply> {
  const headers: Record<string, string> = {};
  if (options.cookie !== undefined) {
    headers.cookie = options.cookie;
  }
  if (options.json !== undefined) {
    headers['content-type'] = 'application/json';
  }
  const started = performance.now();
  let response: Response;
  try {
    response = await fetch(base + path, {
      method: options.method ?? 'GET',
      headers,
      body: options.json === undefined ? undefined : JSON.stringify(options.json),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (error) {
    throw new Error(`${options.method ?? 'GET'} ${path} got no answer: ${String(error)}`, {
      cause: error,
    });
  }
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
    ms: performance.now() - started,
  };
}

/** `name=value` of the one session cookie a reply set. */
function cookieOf(reply: Reply): string {
  expect(reply.sessionCookies).toHaveLength(1);
  const pair = reply.sessionCookies[0].split(';')[0];
  expect(pair.length).toBeGreaterThan(COOKIE_NAME.length + 1);
  return pair;
}

/** Whether a reply cleared the session cookie (empty value). */
function clearsCookie(reply: Reply): boolean {
  return reply.sessionCookies.some((entry) => entry.startsWith(`${COOKIE_NAME}=;`));
}

function login(base: string, userId: string): Promise<Reply> {
  return call(base, '/login', { method: 'POST', json: { userId } });
}

function summary(replies: Reply[]): string {
  const latencies = replies.map((reply) => reply.ms).sort((a, b) => a - b);
  const pick = (q: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
  return `n=${replies.length} min=${latencies[0].toFixed(0)}ms p50=${pick(0.5).toFixed(0)}ms max=${latencies[latencies.length - 1].toFixed(0)}ms`;
}

/** A Nest app (on `platform`) on a fail-closed ioredis client of its own, listening on a loopback port. */
interface FaultApp {
  app: INestApplication;
  client: Redis;
  base: string;
  /** Errors ioredis reported as `error` events (connection refused, reset…). */
  clientErrors: Error[];
  close(): Promise<void>;
}

async function startApp(redisUrl: string, platform: Platform): Promise<FaultApp> {
  const client = new Redis(redisUrl, FAIL_CLOSED);
  const clientErrors: Error[] = [];
  client.on('error', (error: Error) => clientErrors.push(error));
  await waitFor('the Redis client to be ready', async () =>
    client.status === 'ready' ? true : undefined,
  );
  const { app } = await createTestApp(
    { store: new RedisStore({ client, prefix: uniquePrefix('faults') }) },
    undefined,
    platform,
  );
  await app.listen(0, '127.0.0.1');
  const base = await app.getUrl();
  return {
    app,
    client,
    base,
    clientErrors,
    close: async () => {
      try {
        await app.close();
      } finally {
        client.disconnect();
      }
    },
  };
}

/** `count` concurrent GETs of `path`; every one must settle (each bounded by its timeout). */
function wave(base: string, path: string, cookie: string, count = CONCURRENCY): Promise<Reply[]> {
  return Promise.all(Array.from({ length: count }, () => call(base, path, { cookie })));
}

/** Clients hitting `path` back to back until stopped; every reply and failure is kept. */
function startTraffic(base: string, path: string, cookie: string, workers = 5) {
  let running = true;
  const replies: Reply[] = [];
  const failures: unknown[] = [];
  const loops = Array.from({ length: workers }, async () => {
    while (running) {
      try {
        replies.push(await call(base, path, { cookie }));
      } catch (error) {
        failures.push(error);
      }
    }
  });
  return {
    replies,
    failures,
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

/** Asserts that `cookies`, each signed but not a live session, are refused while Redis is out. */
async function expectBadCookiesRefused(base: string, staleCookie: string, liveCookie: string) {
  const value = liveCookie.slice(COOKIE_NAME.length + 1);
  const [token, signature] = value.split('.');
  const flipped =
    signature.slice(0, -2) + (signature.at(-2) === 'A' ? 'B' : 'A') + signature.at(-1);
  const forged = {
    tamperedSignature: `${COOKIE_NAME}=${token}.${flipped}`,
    truncated: `${COOKIE_NAME}=${value.slice(0, Math.floor(value.length / 2))}`,
    garbage: `${COOKIE_NAME}=not-a-session-token`,
    unsigned: `${COOKIE_NAME}=${token}`,
  };
  for (const [kind, cookie] of Object.entries(forged)) {
    const reply = await call(base, '/me', { cookie });
    // Caught by the signature check, before any store I/O: a plain 401, the cookie cleared.
    expect({ kind, status: reply.status, cleared: clearsCookie(reply) }).toEqual({
      kind,
      status: 401,
      cleared: true,
    });
  }
  // Validly signed but logged out: only the store could tell, so the request fails closed.
  const stale = await call(base, '/me', { cookie: staleCookie });
  expect(stale.status).toBe(503);
  expect(stale.body).toEqual(UNAVAILABLE_BODY);
  expect(stale.sessionCookies).toEqual([]);
  return stale;
}

/** A login while Redis is out: 503, and no session cookie is handed out. */
async function expectLoginRefused(base: string): Promise<Reply> {
  const reply = await login(base, 'carol');
  expect(reply.status).toBe(503);
  expect(reply.body).toEqual(UNAVAILABLE_BODY);
  // Nothing usable: at most a clearing cookie, never one with a value.
  expect(reply.sessionCookies.filter((entry) => !entry.startsWith(`${COOKIE_NAME}=;`))).toEqual([]);
  return reply;
}

describe.each(PLATFORMS)(
  'Redis killed (SIGKILL) mid-traffic, then restarted on the same port (%s)',
  (platform) => {
    let redis: RedisProcess;
    let target: FaultApp;
    let alice: string;
    let stale: string;

    beforeAll(async () => {
      redis = await startRedisProcess();
      target = await startApp(redis.url, platform);
    });
    afterAll(async () => {
      try {
        await target?.close();
      } finally {
        await redis?.stop();
      }
    });

    it('serves sessions while Redis is up', async () => {
      alice = cookieOf(await login(target.base, 'alice'));
      stale = cookieOf(await login(target.base, 'bob'));
      expect((await call(target.base, '/logout', { method: 'POST', cookie: stale })).status).toBe(
        200,
      );
      const me = await call(target.base, '/me', { cookie: alice });
      expect(me.status).toBe(200);
      expect(me.body).toMatchObject({ userId: 'alice' });
      expect((await call(target.base, '/me', { cookie: stale })).status).toBe(401);
    });

    it('answers 503 on protected routes, promptly and for every request, once Redis dies', async () => {
      const traffic = startTraffic(target.base, '/me', alice);
      await waitFor('traffic to flow', async () =>
        traffic.replies.filter((reply) => reply.status === 200).length >= 20 ? true : undefined,
      );
      const before = traffic.replies.length;
      const killedAt = performance.now();
      await redis.kill('SIGKILL');
      expect(redis.running).toBe(false);
      const first503 = await waitFor('the first 503 after the kill', async () =>
        traffic.replies.slice(before).find((reply) => reply.status === 503),
      );
      const firstAfter = performance.now() - killedAt;

      // A fresh burst while Redis is gone: every request settles, every one is a 503 with a
      // clear JSON error, and none of them clears the (still valid) session cookie.
      const burst = await wave(target.base, '/me', alice);
      await traffic.stop();

      expect(burst.map((reply) => reply.status)).toEqual(Array(CONCURRENCY).fill(503));
      for (const reply of burst) {
        expect(reply.body).toEqual(UNAVAILABLE_BODY);
        expect(reply.sessionCookies).toEqual([]);
      }
      expect(first503.body).toEqual(UNAVAILABLE_BODY);
      // The traffic around the kill: every request answered, only with 200 or 503.
      expect(traffic.failures).toEqual([]);
      expect(new Set(traffic.replies.map((reply) => reply.status))).toEqual(new Set([200, 503]));

      const after = traffic.replies.slice(before);
      measured.push(
        `${platform} SIGKILL: first 503 seen ${firstAfter.toFixed(0)}ms after the kill; traffic ${traffic.replies.length} requests, ` +
          `${after.filter((r) => r.status === 200).length}x200 + ${after.filter((r) => r.status === 503).length}x503 after the kill`,
        `${platform} SIGKILL: burst of ${CONCURRENCY} concurrent GET /me -> all 503, ${summary(burst)}`,
        `${platform} SIGKILL: ioredis reported ${target.clientErrors.length} 'error' event(s) so far (events, not throws)`,
      );
    });

    it('keeps public routes answering while Redis is down', async () => {
      const replies = [
        await call(target.base, '/public'),
        await call(target.base, '/public', { cookie: alice }),
        await call(target.base, '/anon/peek'), // public, reads the session, but has none
      ];
      expect(replies.map((reply) => reply.status)).toEqual([200, 200, 200]);
      // A public route that reads a presented session cannot know it: it fails closed too.
      const peek = await call(target.base, '/anon/peek', { cookie: alice });
      expect(peek.status).toBe(503);
      expect(peek.body).toEqual(UNAVAILABLE_BODY);
      measured.push(
        `${platform} SIGKILL: public routes 200 (${replies.map((r) => `${r.ms.toFixed(0)}ms`).join(', ')}); public route reading a presented session -> 503`,
      );
    });

    it('never lets a forged or stale cookie through while Redis is down', async () => {
      const staleReply = await expectBadCookiesRefused(target.base, stale, alice);
      measured.push(
        `${platform} SIGKILL: forged cookies -> 401 (no store I/O); signed-but-logged-out -> 503 in ${staleReply.ms.toFixed(0)}ms`,
      );
    });

    it('refuses a login while Redis is down: 503 and no session cookie', async () => {
      const reply = await expectLoginRefused(target.base);
      measured.push(`${platform} SIGKILL: login -> 503 in ${reply.ms.toFixed(0)}ms, no cookie`);
    });

    it('recovers by itself once Redis is back on the same port, without restarting the app', async () => {
      const restartedAt = performance.now();
      await redis.restart();
      const fresh = await waitFor('a login to succeed after the restart', async () => {
        const reply = await login(target.base, 'alice');
        return reply.status === 200 ? reply : undefined;
      });
      const recovery = performance.now() - restartedAt;
      const cookie = cookieOf(fresh);
      const me = await call(target.base, '/me', { cookie });
      expect(me.status).toBe(200);
      expect(me.body).toMatchObject({ userId: 'alice' });
      const write = await call(target.base, '/counter', { method: 'POST', cookie });
      expect(write.status).toBe(200);
      expect(write.body).toEqual({ counter: 1 });
      expect((await call(target.base, '/counter', { method: 'POST', cookie })).body).toEqual({
        counter: 2,
      });
      // The restarted Redis kept nothing (no persistence): the old session is gone, cleanly.
      const old = await call(target.base, '/me', { cookie: alice });
      expect(old.status).toBe(401);
      expect(clearsCookie(old)).toBe(true);
      expect((await call(target.base, '/public')).status).toBe(200);
      measured.push(
        `${platform} SIGKILL: redis-server restarted on port ${redis.port}; first successful login ${recovery.toFixed(0)}ms after the restart began; old cookie -> 401 (data gone)`,
      );
    });
  },
);

describe.each(PLATFORMS)(
  'Redis paused (SIGSTOP) then resumed (SIGCONT): the same session survives (%s)',
  (platform) => {
    let redis: RedisServer;
    let target: FaultApp;
    let alice: string;
    let stale: string;

    beforeAll(async () => {
      redis = await startRedisServer();
      target = await startApp(redis.url, platform);
    });
    afterAll(async () => {
      try {
        await target?.close();
      } finally {
        await redis?.stop(); // resumes the server first if it is still paused
      }
    });

    it('serves sessions while Redis runs', async () => {
      alice = cookieOf(await login(target.base, 'alice'));
      stale = cookieOf(await login(target.base, 'bob'));
      expect((await call(target.base, '/logout', { method: 'POST', cookie: stale })).status).toBe(
        200,
      );
      expect((await call(target.base, '/counter', { method: 'POST', cookie: alice })).body).toEqual(
        {
          counter: 1,
        },
      );
    });

    it('answers 503 after the command timeout while Redis is stalled, and keeps public routes up', async () => {
      redis.pause();
      try {
        const burst = await wave(target.base, '/me', alice);
        expect(burst.map((reply) => reply.status)).toEqual(Array(CONCURRENCY).fill(503));
        for (const reply of burst) {
          expect(reply.body).toEqual(UNAVAILABLE_BODY);
          expect(reply.sessionCookies).toEqual([]);
        }
        const publicReply = await call(target.base, '/public', { cookie: alice });
        expect(publicReply.status).toBe(200);
        const staleReply = await expectBadCookiesRefused(target.base, stale, alice);
        const loginReply = await expectLoginRefused(target.base);
        measured.push(
          `${platform} SIGSTOP: burst of ${CONCURRENCY} concurrent GET /me -> all 503 (commandTimeout ${COMMAND_TIMEOUT_MS}ms), ${summary(burst)}`,
          `${platform} SIGSTOP: public route 200 in ${publicReply.ms.toFixed(0)}ms; forged -> 401; signed-but-logged-out -> 503 in ${staleReply.ms.toFixed(0)}ms; login -> 503 in ${loginReply.ms.toFixed(0)}ms, no cookie`,
        );
      } finally {
        redis.resume();
      }
    });

    it('accepts the SAME cookie again once Redis resumes, with its data intact', async () => {
      const resumedAt = performance.now();
      const me = await waitFor('the old session to be served again', async () => {
        const reply = await call(target.base, '/me', { cookie: alice });
        return reply.status === 200 ? reply : undefined;
      });
      const recovery = performance.now() - resumedAt;
      expect(me.body).toMatchObject({ userId: 'alice', data: { counter: 1 } });
      expect(me.sessionCookies).toEqual([]);
      const write = await call(target.base, '/counter', { method: 'POST', cookie: alice });
      expect(write.status).toBe(200);
      expect(write.body).toEqual({ counter: 2 });
      // The logged-out session stayed logged out; the refused login (its script ran once Redis
      // resumed) left no session behind: the store deleted it after the timeout.
      expect((await call(target.base, '/me', { cookie: stale })).status).toBe(401);
      expect(await target.app.get(SessionStore).listByUser('carol')).toEqual([]);
      measured.push(
        `${platform} SIGCONT: same cookie -> 200 ${recovery.toFixed(0)}ms after the resume, data intact`,
      );
    });
  },
);
