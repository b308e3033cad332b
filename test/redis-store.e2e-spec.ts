import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Redis } from 'ioredis';
import {
  RedisStore,
  SessionDataTooLargeError,
  SessionRevokedError,
  type SessionRecord,
} from 'nest-secure-session';
import request from 'supertest';
import { runSessionStoreConformance } from '../lib/testing/index.js';
import { createTestApp } from './fixtures/test-app.js';
import { cookieFrom } from './fixtures/session-helpers.js';
import { PLATFORMS } from './support/platforms.js';
import {
  connectRedis,
  deleteKeysWithPrefix,
  FAIL_CLOSED_OPTIONS,
  REDIS_URL,
  uniquePrefix,
} from './support/redis-env.js';
import { pausingClient } from './support/pausing-redis.js';
import { freePort, startRedisServer, type RedisServer } from './support/redis-server.js';

// The shared Redis at REDIS_URL: a unique prefix per run, cleaned up after, never flushed.
let shared: Redis;
const prefix = uniquePrefix('node');

beforeAll(async () => {
  shared = await connectRedis();
});
afterAll(async () => {
  if (shared !== undefined) {
    await deleteKeysWithPrefix(shared, prefix);
    await shared.quit();
  }
});

runSessionStoreConformance({
  name: `RedisStore on a single node (${REDIS_URL})`,
  createStore: () => new RedisStore({ client: shared, prefix }),
  reportsEvictions: true,
  runner: { describe, it },
  deviceBinding: true,
});

let sequence = 0;
function newRecord(overrides: Partial<SessionRecord> = {}, ttl = 60_000): SessionRecord {
  const now = Date.now();
  sequence++;
  return {
    id: `redis-spec-${process.pid}-${now}-${sequence}`,
    userId: null,
    data: {},
    createdAt: now,
    lastSeenAt: now,
    authenticatedAt: null,
    expiresAt: now + ttl,
    absoluteExpiresAt: now + 3_600_000,
    userAgent: null,
    ...overrides,
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('RedisStore specifics', () => {
  let store: RedisStore;
  const sessionKey = (id: string) => `${prefix}{${id}}`;
  const userKey = (userId: string, part: string) => `${prefix}{u:${userId}}:${part}`;

  beforeAll(() => {
    store = new RedisStore({ client: shared, prefix });
  });

  it('keeps a session as one hash: metadata fields and d:-prefixed data', async () => {
    const record = newRecord({
      userId: 'layout-user',
      authenticatedAt: 1,
      userAgent: 'agent',
      data: { a: '"1"', userId: '"spoofed"' },
    });
    await store.set(record, 60_000);
    expect(await shared.hgetall(sessionKey(record.id))).toEqual({
      userId: 'layout-user',
      createdAt: String(record.createdAt),
      lastSeenAt: String(record.lastSeenAt),
      authenticatedAt: '1',
      expiresAt: String(record.expiresAt),
      absoluteExpiresAt: String(record.absoluteExpiresAt),
      userAgent: 'agent',
      dataSize: '19',
      'd:a': '"1"',
      'd:userId': '"spoofed"',
    });
    expect((await store.get(record.id))?.userId).toBe('layout-user');
    expect(await shared.zrange(userKey('layout-user', 'idx'), '0', '-1', 'WITHSCORES')).toEqual([
      record.id,
      String(record.createdAt),
    ]);
  });

  it('keeps the data size in the hash as updates change it; a hash without it is measured once', async () => {
    const record = newRecord({ data: { a: 'x'.repeat(10), b: '' } });
    await store.set(record, 60_000);
    const size = async () => Number(await shared.hget(sessionKey(record.id), 'dataSize'));
    expect(await size()).toBe(12);
    const now = Date.now();
    const touch = { lastSeenAt: now, expiresAt: now + 60_000 };
    await store.update(
      record.id,
      { set: { a: 'y', c: 'zz' }, deleted: ['b', 'nope'] },
      touch,
      60_000,
    );
    expect(await size()).toBe(5);
    // Written by an older version (no dataSize): measured from the hash, then kept.
    await shared.hdel(sessionKey(record.id), 'dataSize');
    await expect(
      store.update(record.id, { set: { d: 'w'.repeat(300) }, deleted: [] }, touch, 60_000, {
        maxDataSize: 300,
      }),
    ).rejects.toBeInstanceOf(SessionDataTooLargeError);
    await store.update(record.id, { set: { d: 'w'.repeat(200) }, deleted: [] }, touch, 60_000, {
      maxDataSize: 300,
    });
    expect(await size()).toBe(206);
    await store.touch(record.id, touch, 60_000);
    expect(await size()).toBe(206);
  });

  it("sets the key's TTL to what is left of min(idle, absolute), never longer", async () => {
    const idle = newRecord({ userId: 'ttl-user' }, 20_000);
    await store.set(idle, 20_000);
    const ttl = await shared.pttl(sessionKey(idle.id));
    expect(ttl).toBeLessThanOrEqual(20_000);
    expect(ttl).toBeGreaterThan(19_000);
    // The user's index lives as long as the longest session could, no less and not forever.
    for (const part of ['idx', 'exp']) {
      const indexTtl = await shared.pttl(userKey('ttl-user', part));
      expect(indexTtl).toBeGreaterThanOrEqual(ttl);
      expect(indexTtl).toBeLessThanOrEqual(3_600_000);
    }

    // A caller asking for more than the absolute expiry allows gets the absolute expiry.
    const now = Date.now();
    const capped = newRecord({ absoluteExpiresAt: now + 5_000, expiresAt: now + 5_000 });
    await store.set({ ...capped, expiresAt: now + 60_000 }, 60_000);
    expect(await shared.pttl(sessionKey(capped.id))).toBeLessThanOrEqual(5_000);
    await store.set(capped, 5_000);

    const later = { lastSeenAt: now, expiresAt: now + 60_000 };
    await store.update(capped.id, { set: { a: '1' }, deleted: [] }, later, 60_000);
    expect(await shared.pttl(sessionKey(capped.id))).toBeLessThanOrEqual(5_000);
    expect((await store.get(capped.id))?.expiresAt).toBe(capped.absoluteExpiresAt);
    await store.touch(capped.id, later, 60_000);
    expect(await shared.pttl(sessionKey(capped.id))).toBeLessThanOrEqual(5_000);

    const shorter = { lastSeenAt: now, expiresAt: now + 2_000 };
    await store.touch(capped.id, shorter, 2_000);
    expect(await shared.pttl(sessionKey(capped.id))).toBeLessThanOrEqual(2_000);
    expect((await store.get(capped.id))?.expiresAt).toBe(shorter.expiresAt);
  });

  it('an update, touch or set whose TTL is spent leaves no session', async () => {
    const updated = newRecord();
    const touched = newRecord();
    await store.set(updated, 60_000);
    await store.set(touched, 60_000);
    const now = Date.now();
    // The session ended with its TTL: nothing is written, and the caller hears it (401).
    await expect(
      store.update(
        updated.id,
        { set: { a: '1' }, deleted: [] },
        { lastSeenAt: now, expiresAt: now },
        0,
      ),
    ).rejects.toBeInstanceOf(SessionRevokedError);
    await expect(
      store.touch(touched.id, { lastSeenAt: now, expiresAt: now - 5 }, -5),
    ).rejects.toBeInstanceOf(SessionRevokedError);
    const spent = newRecord({ userId: 'spent-user' }, 0);
    await store.set(spent, 0);
    expect(await store.get(updated.id)).toBeNull();
    expect(await store.get(touched.id)).toBeNull();
    expect(await store.get(spent.id)).toBeNull();
    expect(await shared.exists(sessionKey(updated.id), sessionKey(spent.id))).toBe(0);
  });

  it('prunes index entries of gone sessions and deletes an empty index', async () => {
    const userId = 'prune-user';
    const now = Date.now();
    const short = newRecord({ userId, absoluteExpiresAt: now + 100 }, 100);
    const destroyed = newRecord({ userId });
    const live = newRecord({ userId });
    for (const record of [short, destroyed, live]) {
      await store.set(record, record.expiresAt - Date.now());
    }
    await store.destroy(destroyed.id);
    await sleep(250);
    // destroy is a single DEL: the entry goes on the next listing (or login at the limit).
    expect(await shared.zcard(userKey(userId, 'idx'))).toBe(3);
    expect((await store.listByUser(userId)).map((record) => record.id)).toEqual([live.id]);
    expect(await shared.zrange(userKey(userId, 'idx'), '0', '-1')).toEqual([live.id]);

    // A login drops entries past their absolute expiry without reading other slots.
    const shortAgain = newRecord({ userId, absoluteExpiresAt: Date.now() + 100 }, 100);
    await store.set(shortAgain, 100);
    await sleep(250);
    const next = newRecord({ userId });
    await store.set(next, 60_000);
    expect(await shared.zrange(userKey(userId, 'idx'), '0', '-1')).toEqual([live.id, next.id]);
    expect(await shared.zrange(userKey(userId, 'exp'), '0', '-1')).toEqual([live.id, next.id]);

    expect(await store.destroyByUser(userId)).toBe(2);
    const indexKeys = ['idx', 'exp', 'ev'].map((part) => userKey(userId, part));
    expect(await shared.exists(...indexKeys)).toBe(0);
  });

  it('reads a partial or foreign hash as no session, and foreign fields cannot pollute', async () => {
    const partial = newRecord();
    await shared.hset(sessionKey(partial.id), 'createdAt', '1', 'd:a', '1');
    expect(await store.get(partial.id)).toBeNull();

    const foreign = newRecord({ userId: 'foreign-user', data: { a: '1' } });
    await store.set(foreign, 60_000);
    await shared.hset(
      sessionKey(foreign.id),
      '__proto__',
      'x',
      'd:__proto__',
      'y',
      'constructor',
      'z',
      'polluted',
      'p',
    );
    const read = await store.get(foreign.id);
    expect(read).not.toBeNull();
    expect(Object.getPrototypeOf(read?.data)).toBe(Object.prototype);
    expect(Object.keys(read?.data ?? {}).sort()).toEqual(['__proto__', 'a']);
    expect(Object.hasOwn(read?.data ?? {}, '__proto__')).toBe(true);
    expect(read?.data.__proto__).toBe('y');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.hasOwn(read ?? {}, 'constructor')).toBe(false);
  });

  it('refuses a prefix with hash-tag braces and a missing client', () => {
    expect(() => new RedisStore({ client: shared, prefix: 'app{1}:' })).toThrow(/prefix/);
    expect(() => new RedisStore({ client: undefined as never })).toThrow(/client/);
  });

  it("close() leaves the app's client open", async () => {
    await new RedisStore({ client: shared, prefix }).close();
    await expect(shared.ping()).resolves.toBe('PONG');
  });
});

/** Resolves once `client` has ended (at once if it has); rejects if it is still open `ms` on. */
function closedWithin(client: Redis, ms: number): Promise<void> {
  if (client.status === 'end') {
    return Promise.resolve();
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`client still ${client.status} ${ms} ms on`)),
      ms,
    );
    client.once('end', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

describe('RedisStore with closeClient: true', () => {
  it('quits its client when the app shuts down (app.close()), once', async () => {
    const client = await connectRedis();
    try {
      const quit = jest.spyOn(client, 'quit');
      const store = new RedisStore({ client, prefix, closeClient: true });
      const { app } = await createTestApp({ store });
      try {
        const login = await request(app.getHttpServer()).post('/login').send({ userId: 'closer' });
        expect(login.status).toBe(200);
        await request(app.getHttpServer()).get('/me').set('Cookie', cookieFrom(login)).expect(200);
      } finally {
        await app.close();
      }
      await closedWithin(client, 5_000);
      expect(client.status).toBe('end');
      await expect(store.close()).resolves.toBeUndefined();
      expect(quit).toHaveBeenCalledTimes(1);
    } finally {
      client.disconnect(); // a no-op once quit; else it would keep Jest from exiting
    }
    // The shared connection is untouched: only the store's own client was closed.
    await expect(shared.ping()).resolves.toBe('PONG');
  });

  it('disconnects the client when quit() fails (Redis unreachable), and close() still resolves', async () => {
    // disconnectTimeout: ioredis otherwise keeps a 2 s timer after disconnecting a dead stream.
    const client = new Redis({
      ...FAIL_CLOSED_OPTIONS,
      host: '127.0.0.1',
      port: await freePort(),
      disconnectTimeout: 50,
    });
    client.on('error', () => undefined);
    const quit = jest.spyOn(client, 'quit');
    const disconnect = jest.spyOn(client, 'disconnect');
    try {
      const store = new RedisStore({ client, prefix, closeClient: true });
      await expect(store.close()).resolves.toBeUndefined();
      expect(quit).toHaveBeenCalledTimes(1);
      await expect(quit.mock.results[0].value).rejects.toThrow();
      expect(disconnect).toHaveBeenCalledTimes(1);
    } finally {
      disconnect.mockRestore();
      client.disconnect(); // stops the reconnecting even if the store did not
    }
  });

  it('refuses a closeClient that is not a boolean, or a client without quit()', () => {
    expect(() => new RedisStore({ client: shared, closeClient: 'yes' as never })).toThrow(
      /closeClient must be a boolean/,
    );
    const { hgetall, hget, zrange, del } = shared;
    const withoutQuit = {
      isCluster: false,
      defineCommand: () => undefined,
      hgetall,
      hget,
      zrange,
      del,
    };
    expect(() => new RedisStore({ client: withoutQuit, closeClient: true })).toThrow(/quit\(\)/);
    expect(() => new RedisStore({ client: withoutQuit })).not.toThrow();
  });
});

describe('RedisStore: a revoke-all racing a move (interleaved inside the store)', () => {
  it('a revoke-all that listed the old id before the move still ends the moved session', async () => {
    const paused = pausingClient(shared);
    const revoking = new RedisStore({ client: paused.client, prefix });
    const moving = new RedisStore({ client: shared, prefix });
    const userId = `race-revoke-all-${sequence}`;
    const old = newRecord({ userId });
    await moving.set(old, 60_000, { maxSessionsPerUser: 5 });

    const held = paused.hold('nestSecureSessionDestroyOwned');
    const revokeAll = revoking.destroyByUser(userId);
    await held.reached; // it has read the index: only the old id is listed
    const moved = newRecord({ userId, createdAt: old.createdAt });
    await moving.set(moved, 60_000, { maxSessionsPerUser: 5, replaces: old.id });
    expect(await moving.get(moved.id)).not.toBeNull();
    held.release();

    expect(await revokeAll).toBe(1);
    expect(await moving.get(moved.id)).toBeNull();
    expect(await moving.get(old.id)).toBeNull();
    expect(await moving.listByUser(userId)).toEqual([]);
  });

  it('a move is one script: the old hash becomes a tombstone, the new one is indexed in its place', async () => {
    const userId = `tombstone-${sequence}`;
    const old = newRecord({ userId });
    await store().set(old, 60_000, { maxSessionsPerUser: 5 });
    const moved = newRecord({ userId, createdAt: old.createdAt });
    await store().set(moved, 60_000, { maxSessionsPerUser: 5, replaces: old.id });
    expect(await shared.hgetall(`${prefix}{${old.id}}`)).toEqual({ movedTo: moved.id });
    expect(await shared.pttl(`${prefix}{${old.id}}`)).toBeLessThanOrEqual(60_000);
    expect(await shared.zrange(`${prefix}{u:${userId}}:idx`, '0', '-1')).toEqual([moved.id]);
  });

  const store = () => new RedisStore({ client: shared, prefix });
});

/**
 * Counts what reaches a private redis-server: `INFO commandstats` (which also counts the
 * commands scripts run) and, from `MONITOR`, the commands clients sent (scripts' own calls are
 * tagged `lua` there and left out).
 */
class CommandMeter {
  private readonly sent: { command: string; source: string }[] = [];
  private marks = 0;

  private constructor(
    private readonly admin: Redis,
    private readonly monitor: Redis,
    private readonly adminAddress: string,
  ) {
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      this.sent.push({ command: args.join(' ').toLowerCase(), source });
    });
  }

  static async start(url: string): Promise<CommandMeter> {
    const admin = await connectRedis(url);
    const monitor = await admin.monitor();
    const info = String(await admin.client('INFO'));
    const address = /addr=(\S+)/.exec(info)?.[1] ?? '';
    return new CommandMeter(admin, monitor, address);
  }

  /** The commands `action` made clients send (by name), and commandstats for them. */
  async measure(action: () => Promise<unknown>): Promise<{
    sent: Record<string, number>;
    stats: Record<string, number>;
  }> {
    await this.admin.config('RESETSTAT');
    const from = await this.mark();
    await action();
    const to = await this.mark();
    const sent: Record<string, number> = {};
    for (const entry of this.sent.slice(from, to)) {
      if (entry.source !== 'lua' && entry.source !== this.adminAddress) {
        const name = entry.command.split(' ')[0];
        sent[name] = (sent[name] ?? 0) + 1;
      }
    }
    const stats: Record<string, number> = {};
    for (const line of (await this.admin.info('commandstats')).split('\n')) {
      const match = /^cmdstat_([^:]+):calls=(\d+)/.exec(line.trim());
      if (match !== null && !/^(info|config|echo|monitor)/.test(match[1])) {
        stats[match[1]] = Number(match[2]);
      }
    }
    return { sent, stats };
  }

  async stop(): Promise<void> {
    this.monitor.disconnect();
    await this.admin.quit();
  }

  /** Index in the monitor log just after a fresh marker command. */
  private async mark(): Promise<number> {
    const marker = `meter-mark-${++this.marks}`;
    await this.admin.echo(marker);
    for (let i = 0; i < 200; i++) {
      const at = this.sent.findIndex((entry) => entry.command === `echo ${marker}`);
      if (at !== -1) {
        return at + 1;
      }
      await sleep(5);
    }
    throw new Error(`MONITOR never showed ${marker}`);
  }
}

describe('RedisStore round trips (a private redis-server)', () => {
  let server: RedisServer;
  let client: Redis;
  let meter: CommandMeter;
  let store: RedisStore;

  beforeAll(async () => {
    server = await startRedisServer();
    client = await connectRedis(server.url);
    meter = await CommandMeter.start(server.url);
    store = new RedisStore({ client });
  });
  afterAll(async () => {
    await meter?.stop();
    await client?.quit();
    await server?.stop();
  });

  it('get is one HGETALL; set (a move included), update and touch one EVALSHA; destroy one DEL', async () => {
    const now = Date.now();
    const touch = { lastSeenAt: now, expiresAt: now + 60_000 };
    const user = newRecord({ userId: 'meter-user', data: { a: '1' } });
    const anonymous = newRecord({ data: { a: '1' } });
    const limit = { maxSessionsPerUser: 5 };
    const warmUp = newRecord({ userId: 'meter-user' });
    const moved = newRecord({ userId: 'meter-user', data: { a: '1' } });
    const movedAnonymous = newRecord({ data: { a: '1' } });
    // The first call of a script on a connection is an EVAL; every later one an EVALSHA.
    await store.set(warmUp, 60_000, limit);
    const warmMove = newRecord();
    await store.set(warmMove, 60_000);
    await store.set(newRecord(), 60_000, { replaces: warmMove.id });
    await store.update(warmUp.id, { set: { b: '2' }, deleted: [] }, touch, 60_000);
    await store.set(newRecord(), 60_000);

    const measured = {
      get: await meter.measure(() => store.get(user.id)),
      'set (anonymous)': await meter.measure(() => store.set(anonymous, 60_000)),
      'set (login, limit 5)': await meter.measure(() => store.set(user, 60_000, limit)),
      'set (move of a login)': await meter.measure(() =>
        store.set(moved, 60_000, { ...limit, replaces: user.id }),
      ),
      'set (move of an anonymous session)': await meter.measure(() =>
        store.set(movedAnonymous, 60_000, { replaces: anonymous.id }),
      ),
      'get (live)': await meter.measure(() => store.get(moved.id)),
      update: await meter.measure(() =>
        store.update(moved.id, { set: { b: '2' }, deleted: ['a'] }, touch, 60_000, {
          maxDataSize: 16_384,
        }),
      ),
      touch: await meter.measure(() => store.touch(moved.id, touch, 60_000)),
      destroy: await meter.measure(() => store.destroy(moved.id)),
    };
    const sent = Object.fromEntries(
      Object.entries(measured).map(([operation, { sent }]) => [operation, sent]),
    );
    expect(sent).toEqual({
      get: { hgetall: 1 },
      'set (anonymous)': { evalsha: 1 },
      'set (login, limit 5)': { evalsha: 1 },
      'set (move of a login)': { evalsha: 1 },
      'set (move of an anonymous session)': { evalsha: 1 },
      'get (live)': { hgetall: 1 },
      update: { evalsha: 1 },
      touch: { evalsha: 1 },
      destroy: { del: 1 },
    });
    // commandstats agree: one HGETALL for a read, one EVALSHA (never a full EVAL) for a write.
    expect(measured['get (live)'].stats).toEqual({ hgetall: 1 });
    expect(measured.destroy.stats).toEqual({ del: 1 });
    for (const write of [
      'set (anonymous)',
      'set (login, limit 5)',
      'set (move of a login)',
      'set (move of an anonymous session)',
      'update',
      'touch',
    ] as const) {
      expect(measured[write].stats.evalsha).toBe(1);
      expect(measured[write].stats.eval).toBeUndefined();
      expect(measured[write].stats.hgetall).toBeUndefined();
    }
  });

  it.each(PLATFORMS)(
    'per HTTP request: public 0, login 1, authenticated read 1, write 2, login from a session or regenerate 2, logout 2 (%s)',
    async (platform) => {
      const { app } = await createTestApp(
        { store: new RedisStore({ client, prefix: `http-${platform}:` }) },
        undefined,
        platform,
      );
      try {
        const http = () => request(app.getHttpServer());
        const flow = async () => {
          await http().get('/public').expect(200);
          const cookie = cookieFrom(await http().post('/login').send({ userId: 'http-user' }));
          await http().get('/me').set('Cookie', cookie).expect(200);
          await http().post('/counter').set('Cookie', cookie).expect(200);
          const again = cookieFrom(
            await http().post('/login').set('Cookie', cookie).send({ userId: 'http-user' }),
          );
          await http().post('/logout').set('Cookie', again).expect(200);
        };
        await flow(); // warm-up: scripts become EVALSHA

        const sent: Record<string, Record<string, number>> = {};
        let cookie = '';
        sent.public = (await meter.measure(() => http().get('/public').expect(200))).sent;
        sent.login = (
          await meter.measure(async () => {
            cookie = cookieFrom(await http().post('/login').send({ userId: 'http-user' }));
          })
        ).sent;
        sent['authenticated read'] = (
          await meter.measure(() => http().get('/me').set('Cookie', cookie).expect(200))
        ).sent;
        sent.write = (
          await meter.measure(() => http().post('/counter').set('Cookie', cookie).expect(200))
        ).sent;
        sent['login from a live session'] = (
          await meter.measure(async () => {
            const response = await http()
              .post('/login')
              .set('Cookie', cookie)
              .send({ userId: 'http-user' });
            cookie = cookieFrom(response);
          })
        ).sent;
        sent.regenerate = (
          await meter.measure(async () => {
            const response = await http()
              .post('/regenerate-and-write')
              .set('Cookie', cookie)
              .expect(200);
            cookie = cookieFrom(response);
          })
        ).sent;
        sent.logout = (
          await meter.measure(() => http().post('/logout').set('Cookie', cookie).expect(200))
        ).sent;
        sent['after logout'] = (
          await meter.measure(() => http().get('/me').set('Cookie', cookie).expect(401))
        ).sent;
        expect(sent).toEqual({
          public: {},
          login: { evalsha: 1 },
          'authenticated read': { hgetall: 1 },
          write: { hgetall: 1, evalsha: 1 },
          'login from a live session': { hgetall: 1, evalsha: 1 },
          regenerate: { hgetall: 1, evalsha: 1 },
          logout: { hgetall: 1, del: 1 },
          'after logout': { hgetall: 1 },
        });
      } finally {
        await app.close();
      }
      await expect(client.ping()).resolves.toBe('PONG');
    },
  );
});

describe('RedisStore when Redis fails', () => {
  it('rejects (never resolves null) when the server is down or stalled', async () => {
    const server = await startRedisServer();
    // disconnectTimeout: ioredis otherwise keeps a 2 s timer after disconnecting a dead stream.
    const client = await connectRedis(server.url, { commandTimeout: 300, disconnectTimeout: 50 });
    const store = new RedisStore({ client });
    const record = newRecord({ userId: 'fault-user' });
    try {
      await store.set(record, 60_000);
      expect(await store.get(record.id)).not.toBeNull();

      server.pause();
      let started = Date.now();
      await expect(store.get(record.id)).rejects.toThrow();
      expect(Date.now() - started).toBeLessThan(2_000);
      server.resume();
      await sleep(50);
      expect(await store.get(record.id)).not.toBeNull();

      await server.stop();
      started = Date.now();
      await expect(store.get(record.id)).rejects.toThrow();
      await expect(store.listByUser('fault-user')).rejects.toThrow();
      expect(Date.now() - started).toBeLessThan(2_000);
    } finally {
      client.disconnect();
      await server.stop();
    }
  });

  it('a client that cannot connect rejects at once', async () => {
    const client = new Redis(`redis://127.0.0.1:${await freePort()}`, {
      ...FAIL_CLOSED_OPTIONS,
      disconnectTimeout: 50,
    });
    client.on('error', () => undefined);
    try {
      const store = new RedisStore({ client });
      const started = Date.now();
      await expect(store.get('any-id')).rejects.toThrow();
      await expect(store.set(newRecord({ userId: 'u' }), 60_000)).rejects.toThrow();
      await expect(store.destroyByUser('u')).rejects.toThrow();
      expect(Date.now() - started).toBeLessThan(1_000);
    } finally {
      client.disconnect();
    }
  });
});
