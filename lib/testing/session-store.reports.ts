import { strict as assert } from 'node:assert';
import type {
  SessionSetResult,
  SessionWriteOptions,
} from '../interfaces/session-store.interface.js';
import { newRecord, newUserId, sleep, ttlOf, type StoreTest } from './conformance-records.js';

/**
 * Conformance tests of what a store reports: the sessions `set` evicted under
 * `maxSessionsPerUser` (`{ evicted }`), and, for a store with `watchExpiry`, the sessions it
 * finds expired.
 *
 * @internal
 */

/** What `set` resolved to, checked: `undefined` only for a store that does not report. */
function reported(result: void | SessionSetResult, required: boolean): string[] | null {
  if (result === undefined) {
    assert.equal(required, false, 'set() must resolve { evicted } (reportsEvictions: true)');
    return null;
  }
  assert.ok(Array.isArray(result.evicted), 'set() resolves { evicted: string[] }');
  return [...result.evicted].sort();
}

/** What the store under test must report (`SessionStoreConformanceOptions`). */
export interface ReportDemands {
  evictions: boolean;
  expiry: boolean;
}

export function registerReportTests(
  test: StoreTest,
  shortTtl: number,
  demands: ReportDemands,
): void {
  const required = demands.evictions;
  test('set() reports exactly the sessions the limit evicted, and none otherwise', async (store) => {
    const userId = newUserId();
    const limit: SessionWriteOptions = { maxSessionsPerUser: 2, limitPolicy: 'evict-oldest' };
    const [a, b, c, d] = [0, 1, 2, 3].map((i) => newRecord({ userId, createdAt: Date.now() + i }));
    const anonymous = newRecord();
    assert.deepEqual(reported(await store.set(anonymous, ttlOf(anonymous)), required) ?? [], []);
    assert.deepEqual(reported(await store.set(a, ttlOf(a), limit), required) ?? [], []);
    assert.deepEqual(reported(await store.set(b, ttlOf(b), limit), required) ?? [], []);
    const third = reported(await store.set(c, ttlOf(c), limit), required);
    if (third !== null) {
      assert.deepEqual(third, [a.id]);
    }
    const tight = { ...limit, maxSessionsPerUser: 1 };
    const fourth = reported(await store.set(d, ttlOf(d), tight), required);
    if (fourth !== null) {
      assert.deepEqual(fourth, [b.id, c.id].sort());
    }
    assert.deepEqual(
      (await store.listByUser(userId)).map((record) => record.id),
      [d.id],
    );
  });

  test('a move of one of the user’s sessions at the limit reports no eviction', async (store) => {
    const userId = newUserId();
    const limit: SessionWriteOptions = { maxSessionsPerUser: 2 };
    const [a, b] = [0, 1].map((i) => newRecord({ userId, createdAt: Date.now() + i }));
    await store.set(a, ttlOf(a), limit);
    await store.set(b, ttlOf(b), limit);
    const moved = newRecord({ userId, createdAt: b.createdAt });
    const result = await store.set(moved, ttlOf(moved), { ...limit, replaces: b.id });
    assert.deepEqual(reported(result, required) ?? [], []);
    assert.notEqual(await store.get(a.id), null, 'no other session was evicted');
  });

  test('a session that had expired is not reported as evicted', async (store) => {
    const userId = newUserId();
    const limit: SessionWriteOptions = { maxSessionsPerUser: 1 };
    const expiring = newRecord({ userId, expiresIn: shortTtl });
    await store.set(expiring, ttlOf(expiring), limit);
    await sleep(shortTtl * 2 + 50);
    const next = newRecord({ userId });
    assert.deepEqual(reported(await store.set(next, ttlOf(next), limit), required) ?? [], []);
  });

  test('watchExpiry reports sessions that expired, once each, and never a live one', async (store) => {
    assert.ok(
      !demands.expiry || store.watchExpiry !== undefined,
      'reportsExpiry: true needs watchExpiry()',
    );
    const seen: { sessionId: string; userId: string | null }[] = [];
    const stop = store.watchExpiry?.((expiry) => {
      seen.push({ sessionId: expiry.sessionId, userId: expiry.userId });
    });
    try {
      const userId = newUserId();
      const expiring = newRecord({ userId, expiresIn: shortTtl });
      const live = newRecord({ userId });
      await store.set(expiring, ttlOf(expiring));
      await store.set(live, ttlOf(live));
      await sleep(shortTtl * 2 + 50);
      // A store may report on read (MemoryStore) or from its backend (RedisStore with
      // expiryEvents, a moment after the key expired).
      assert.equal(await store.get(expiring.id), null);
      assert.equal(await store.get(expiring.id), null);
      await store.get(live.id);
      for (let waited = 0; demands.expiry && seen.length === 0 && waited < 2_000; waited += 50) {
        await sleep(50);
      }
      const ids = seen.map((expiry) => expiry.sessionId);
      assert.ok(!ids.includes(live.id), 'a live session is never reported expired');
      if (demands.expiry) {
        assert.deepEqual(ids, [expiring.id], 'the expired session, reported once');
        assert.ok([userId, null].includes(seen[0].userId), 'its user, when the store knows it');
      }
    } finally {
      stop?.();
    }
  });
}
