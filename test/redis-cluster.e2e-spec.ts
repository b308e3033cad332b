import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Cluster, Redis } from 'ioredis';
import {
  RedisStore,
  SessionLimitExceededError,
  SessionRevokedError,
  type SessionRecord,
} from 'nest-secure-session';
import { runRevocationStoreConformance, runSessionStoreConformance } from '../lib/testing/index.js';
import { pausingClient } from './support/pausing-redis.js';
import { connectCluster, deleteKeysWithPrefix, uniquePrefix } from './support/redis-env.js';
import { rawCommand, startRedisCluster, type RedisCluster } from './support/redis-server.js';

// A real 3-master cluster on free loopback ports, started for this file and stopped after it.
let cluster: RedisCluster;
let client: Cluster;
const prefix = uniquePrefix('cluster');

let clusterStartMs = 0;

beforeAll(async () => {
  const started = Date.now();
  cluster = await startRedisCluster(3);
  clusterStartMs = Date.now() - started;
  client = await connectCluster(cluster.startupNodes);
});
afterAll(async () => {
  if (client !== undefined) {
    await deleteKeysWithPrefix(client, prefix);
    await client.quit();
  }
  await cluster?.stop();
});

runSessionStoreConformance({
  name: 'RedisStore on a 3-master Redis Cluster',
  createStore: () => new RedisStore({ client, prefix }),
  reportsEvictions: true,
  runner: { describe, it },
  deviceBinding: true,
});

runRevocationStoreConformance({
  name: 'RedisStore on a 3-master Redis Cluster',
  createStore: () => new RedisStore({ client, prefix }),
  runner: { describe, it },
});

let sequence = 0;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
function newRecord(userId: string | null, createdAt = Date.now()): SessionRecord {
  const now = Date.now();
  sequence++;
  return {
    id: `cluster-spec-${process.pid}-${now}-${sequence}-${Math.random().toString(36).slice(2)}`,
    userId,
    data: { a: '1' },
    createdAt,
    lastSeenAt: now,
    authenticatedAt: userId === null ? null : now,
    expiresAt: now + 60_000,
    absoluteExpiresAt: now + 3_600_000,
    userAgent: null,
  };
}

/** The masters holding `key`: each is asked directly (the others answer MOVED). */
async function mastersHolding(key: string): Promise<number[]> {
  const masters = client.nodes('master');
  const found = await Promise.all(
    masters.map((node) =>
      node
        .exists(key)
        .catch((error: Error) => (/MOVED/.test(error.message) ? 0 : Promise.reject(error))),
    ),
  );
  return masters.flatMap((node, i) => (found[i] === 1 ? [node.options.port as number] : []));
}

async function slotOf(key: string): Promise<number> {
  return Number(await client.nodes('master')[0].cluster('KEYSLOT', key));
}

/** Calls per command across all masters while `action` runs (`INFO commandstats`). */
async function commandStats(action: () => Promise<unknown>): Promise<Record<string, number>> {
  const masters: Redis[] = client.nodes('master');
  await Promise.all(masters.map((node) => node.config('RESETSTAT')));
  await action();
  const stats: Record<string, number> = {};
  for (const node of masters) {
    for (const line of (await node.info('commandstats')).split('\n')) {
      const match = /^cmdstat_([^:]+):calls=(\d+)/.exec(line.trim());
      if (match !== null && !/^(info|config|cluster|command)/.test(match[1])) {
        stats[match[1]] = (stats[match[1]] ?? 0) + Number(match[2]);
      }
    }
  }
  return stats;
}

describe('RedisStore on Cluster: slots', () => {
  it('the cluster starts quickly', () => {
    expect(cluster.nodes).toHaveLength(3);
    expect(clusterStartMs).toBeLessThan(10_000);
  });

  it("spreads a user's sessions over the masters and keeps the user's index in one slot", async () => {
    const store = new RedisStore({ client, prefix });
    const userId = `spread-${sequence}`;
    const records = Array.from({ length: 30 }, (_, i) => newRecord(userId, Date.now() + i));
    for (const record of records) {
      await store.set(record, 60_000, { maxSessionsPerUser: 100 });
    }
    const holders = new Set<number>();
    for (const record of records) {
      const masters = await mastersHolding(`${prefix}{${record.id}}`);
      expect(masters).toHaveLength(1);
      holders.add(masters[0]);
    }
    expect(holders.size).toBe(3);

    const indexKeys = ['idx', 'exp'].map((part) => `${prefix}{u:${userId}}:${part}`);
    const slots = await Promise.all(indexKeys.map(slotOf));
    expect(new Set(slots).size).toBe(1);
    expect(await slotOf(`${prefix}{u:${userId}}:ev`)).toBe(slots[0]);
    expect(await mastersHolding(indexKeys[0])).toEqual(await mastersHolding(indexKeys[1]));

    const listed = await store.listByUser(userId);
    expect(listed.map((record) => record.id)).toEqual(records.map((record) => record.id));
    expect(await store.destroyByUser(userId, records[0].id)).toBe(29);
    expect((await store.listByUser(userId)).map((record) => record.id)).toEqual([records[0].id]);
  });

  it('costs: get one HGETALL, update and touch one script, a login two, destroy one DEL', async () => {
    const store = new RedisStore({ client, prefix });
    const userId = `cost-${sequence}`;
    const now = Date.now();
    const touch = { lastSeenAt: now, expiresAt: now + 60_000 };
    // Warm up the scripts on every master's connection (the first call per connection is EVAL).
    for (let i = 0; i < 30; i++) {
      const warm = newRecord(`${userId}-warm-${i}`);
      await store.set(warm, 60_000, { maxSessionsPerUser: 5 });
      await store.update(warm.id, { set: { b: '2' }, deleted: [] }, touch, 60_000);
    }
    const record = newRecord(userId);
    const scripts = (stats: Record<string, number>) => (stats.evalsha ?? 0) + (stats.eval ?? 0);

    const login = await commandStats(() => store.set(record, 60_000, { maxSessionsPerUser: 5 }));
    expect(scripts(login)).toBe(2);
    expect(login.hgetall).toBeUndefined();
    expect(await commandStats(() => store.get(record.id))).toEqual({ hgetall: 1 });
    const update = await commandStats(() =>
      store.update(record.id, { set: { b: '2' }, deleted: ['a'] }, touch, 60_000),
    );
    expect(scripts(update)).toBe(1);
    expect(update.hgetall).toBeUndefined();
    expect(scripts(await commandStats(() => store.touch(record.id, touch, 60_000)))).toBe(1);
    // A move: the new hash, the index, the end of the old hash (and a prune sent without waiting).
    const moved = newRecord(userId, record.createdAt);
    const move = await commandStats(async () => {
      await store.set(moved, 60_000, { maxSessionsPerUser: 5, replaces: record.id });
      await sleep(50);
    });
    expect(scripts(move)).toBe(4);
    expect(move.hgetall).toBeUndefined();
    expect(await commandStats(() => store.destroy(moved.id))).toEqual({ del: 1 });
  });
});

describe('RedisStore on Cluster: expiryEvents', () => {
  it('subscribes on every master, and reports sessions expiring in any slot, once each', async () => {
    for (const node of cluster.nodes) {
      expect(await rawCommand(node.port, 'CONFIG SET notify-keyspace-events Ex')).toBe('+OK\r\n');
    }
    const numsub = async (port: number) =>
      Number(
        /:(\d+)\r\n$/.exec(await rawCommand(port, 'PUBSUB NUMSUB __keyevent@0__:expired'))?.[1],
      );
    const store = new RedisStore({ client, prefix, expiryEvents: true });
    const reported: string[] = [];
    store.watchExpiry((expiry) => {
      expect(expiry).toEqual({ sessionId: expiry.sessionId, userId: null, source: 'keyspace' });
      reported.push(expiry.sessionId);
    });
    try {
      for (const node of cluster.nodes) {
        for (let waited = 0; (await numsub(node.port)) < 1 && waited < 3_000; waited += 25) {
          await new Promise((resolve) => setTimeout(resolve, 25));
        }
        expect(await numsub(node.port)).toBe(1);
      }
      const records = Array.from({ length: 12 }, (_, i) => ({
        ...newRecord(i % 2 === 0 ? null : `expiring-${i}`),
        expiresAt: Date.now() + 100,
      }));
      for (const record of records) {
        await store.set(record, record.expiresAt - Date.now());
      }
      // Redis deletes (and reports) an expired key when its active expiry cycle samples it or
      // when it is next read: reading them makes the test independent of the sampling.
      await new Promise((resolve) => setTimeout(resolve, 300));
      for (const record of records) {
        expect(await store.get(record.id)).toBeNull();
      }
      const deadline = Date.now() + 5_000;
      while (reported.length < records.length && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect([...reported].sort()).toEqual(records.map((record) => record.id).sort());
    } finally {
      await store.close();
    }
    for (const node of cluster.nodes) {
      expect(await numsub(node.port)).toBe(0);
    }
  });
});

describe('RedisStore on Cluster: two app instances', () => {
  let second: Cluster;

  beforeAll(async () => {
    second = await connectCluster(cluster.startupNodes);
  });
  afterAll(async () => {
    await second?.quit();
  });

  it('concurrent logins through two clients never exceed the limit', async () => {
    const stores = [new RedisStore({ client, prefix }), new RedisStore({ client: second, prefix })];
    for (const limitPolicy of ['evict-oldest', 'refuse'] as const) {
      const userId = `two-instances-${limitPolicy}-${sequence}`;
      const records = Array.from({ length: 20 }, (_, i) => newRecord(userId, Date.now() + i));
      const outcomes = await Promise.allSettled(
        records.map((record, i) =>
          stores[i % 2].set(record, 60_000, { maxSessionsPerUser: 3, limitPolicy }),
        ),
      );
      for (const outcome of outcomes) {
        if (outcome.status === 'rejected') {
          expect(limitPolicy).toBe('refuse');
          expect(outcome.reason).toBeInstanceOf(SessionLimitExceededError);
        }
      }
      const live = (await Promise.all(records.map((record) => stores[1].get(record.id)))).filter(
        (record) => record !== null,
      );
      expect(live).toHaveLength(3);
      expect((await stores[0].listByUser(userId)).map((record) => record.id).sort()).toEqual(
        live.map((record) => record.id).sort(),
      );
      // A session written through one instance is revoked through the other.
      expect(await stores[1].destroyByUser(userId)).toBe(3);
      expect(await stores[0].listByUser(userId)).toEqual([]);
    }
  });
});

describe('RedisStore on Cluster: a move interleaved with revocations (between its round trips)', () => {
  const plain = () => new RedisStore({ client, prefix });

  async function userSession(label: string): Promise<{ userId: string; old: SessionRecord }> {
    const userId = `${label}-${sequence}-${Math.random().toString(36).slice(2)}`;
    const old = newRecord(userId);
    await plain().set(old, 60_000, { maxSessionsPerUser: 5 });
    return { userId, old };
  }

  it('a revoke-all that listed the old id before the move still ends the moved session', async () => {
    const { userId, old } = await userSession('listed-before');
    const paused = pausingClient(client);
    const held = paused.hold('nestSecureSessionDestroyOwned');
    const revokeAll = new RedisStore({ client: paused.client, prefix }).destroyByUser(userId);
    await held.reached;
    const moved = newRecord(userId, old.createdAt);
    await plain().set(moved, 60_000, { maxSessionsPerUser: 5, replaces: old.id });
    held.release();
    expect(await revokeAll).toBe(1);
    expect(await plain().get(moved.id)).toBeNull();
    expect(await plain().listByUser(userId)).toEqual([]);
  });

  it('a revoke-all between the index step and the end of the old session ends both; the move is refused', async () => {
    const { userId, old } = await userSession('between-index-and-claim');
    const paused = pausingClient(client);
    const held = paused.hold('nestSecureSessionClaim');
    const moved = newRecord(userId, old.createdAt);
    const move = new RedisStore({ client: paused.client, prefix }).set(moved, 60_000, {
      maxSessionsPerUser: 5,
      replaces: old.id,
    });
    move.catch(() => undefined);
    await held.reached;
    // The old id is indexed as moving (not counted, still listed for revoke-all).
    const listed = await client.zrange(`${prefix}{u:${userId}}:idx`, '0', '-1');
    expect(listed.sort()).toEqual([old.id, moved.id].sort());
    expect(await client.smembers(`${prefix}{u:${userId}}:mv`)).toEqual([old.id]);
    expect(await plain().destroyByUser(userId)).toBe(2);
    held.release();
    await expect(move).rejects.toBeInstanceOf(SessionRevokedError);
    expect(await plain().get(moved.id)).toBeNull();
    expect(await plain().get(old.id)).toBeNull();
    expect(await plain().listByUser(userId)).toEqual([]);
  });

  it('a revoke between writing the new hash and indexing it: the move is refused, nothing is left', async () => {
    const { userId, old } = await userSession('between-write-and-index');
    const paused = pausingClient(client);
    const held = paused.hold('nestSecureSessionIndex');
    const moved = newRecord(userId, old.createdAt);
    const move = new RedisStore({ client: paused.client, prefix }).set(moved, 60_000, {
      maxSessionsPerUser: 5,
      replaces: old.id,
    });
    move.catch(() => undefined);
    await held.reached;
    await plain().destroy(old.id);
    held.release();
    await expect(move).rejects.toBeInstanceOf(SessionRevokedError);
    expect(await plain().get(moved.id)).toBeNull();
    expect(await plain().listByUser(userId)).toEqual([]);
  });

  it('a login refused at the limit deletes the session it wrote before it answers', async () => {
    // The flake of "concurrent logins through two clients": a refused login deleted its hash
    // without waiting, so another client could still read it (4 live under a limit of 3).
    const { userId } = await userSession('refused');
    const paused = pausingClient(client);
    const held = paused.hold('del');
    const refused = newRecord(userId);
    const login = new RedisStore({ client: paused.client, prefix }).set(refused, 60_000, {
      maxSessionsPerUser: 1,
      limitPolicy: 'refuse',
    });
    login.catch(() => undefined);
    await held.reached;
    const early = await Promise.race([
      login.then(
        () => 'answered',
        () => 'answered',
      ),
      sleep(100).then(() => 'waiting'),
    ]);
    expect(early).toBe('waiting');
    held.release();
    await expect(login).rejects.toBeInstanceOf(SessionLimitExceededError);
    const other = await connectCluster(cluster.startupNodes);
    try {
      expect(await new RedisStore({ client: other, prefix }).get(refused.id)).toBeNull();
    } finally {
      await other.quit();
    }
  });
  it('a token rotation leaves its tombstone in the old slot and its successor in another; destroyRotated follows across slots', async () => {
    const { userId, old } = await userSession('rotation-slots');
    let rotated = newRecord(userId, old.createdAt);
    // Pick a successor id in another slot than the old one (most ids are).
    while ((await slotOf(`${prefix}{${rotated.id}}`)) === (await slotOf(`${prefix}{${old.id}}`))) {
      rotated = newRecord(userId, old.createdAt);
    }
    const rotation = { graceEndsAt: Date.now() + 10_000, successor: 'sealed-successor' };
    await plain().set(rotated, 60_000, { maxSessionsPerUser: 5, replaces: old.id, rotation });
    expect(await plain().get(old.id)).toBeNull();
    expect(await plain().getTombstone(old.id)).toEqual({
      successorId: rotated.id,
      graceEndsAt: rotation.graceEndsAt,
      successor: 'sealed-successor',
      userId,
    });
    // Kept until the absolute expiry, not the idle one.
    expect(await client.pttl(`${prefix}{${old.id}}`)).toBeGreaterThan(60_000);
    expect(await plain().destroyRotated(old.id)).toEqual([rotated.id]);
    expect(await plain().get(rotated.id)).toBeNull();
    expect(await plain().getTombstone(old.id)).toBeNull();
    expect(await plain().listByUser(userId)).toEqual([]);
  });

  it('a theft revocation between the index step and the claim of a rotation: the rotation is refused, nothing is left', async () => {
    const { userId, old } = await userSession('rotation-between-index-and-claim');
    const paused = pausingClient(client);
    const held = paused.hold('nestSecureSessionClaim');
    const rotated = newRecord(userId, old.createdAt);
    const rotation = { graceEndsAt: Date.now() + 10_000, successor: 'sealed-successor' };
    const move = new RedisStore({ client: paused.client, prefix }).set(rotated, 60_000, {
      maxSessionsPerUser: 5,
      replaces: old.id,
      rotation,
    });
    move.catch(() => undefined);
    await held.reached;
    // The new hash is written and indexed; the old one is still live: ending it wins.
    expect(await plain().destroyRotated(old.id)).toEqual([old.id]);
    held.release();
    await expect(move).rejects.toBeInstanceOf(SessionRevokedError);
    expect(await plain().get(rotated.id)).toBeNull();
    expect(await plain().getTombstone(old.id)).toBeNull();
    expect(await plain().listByUser(userId)).toEqual([]);
  });
});
