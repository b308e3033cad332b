import { strict as assert } from 'node:assert';
import { SessionLimitExceededError } from '../core/session.errors.js';
import type { SessionWriteOptions } from '../interfaces/session-store.interface.js';
import {
  newRecord,
  newUserId,
  plain,
  sleep,
  ttlOf,
  type StoreTest,
} from './conformance-records.js';

/**
 * Conformance tests of the per-user index and `maxSessionsPerUser` (both policies, concurrent logins).
 *
 * @internal
 */

const CONCURRENT_LOGINS = 25;

/** `listByUser` and `destroyByUser`. */
export function registerUserIndexTests(test: StoreTest, shortTtl: number): void {
  test("listByUser returns the user's live sessions oldest first, as copies", async (store) => {
    const userId = newUserId();
    const now = Date.now();
    const sessions = [3000, 2000, 1000, 0].map((age) =>
      newRecord({ userId, createdAt: now - age }),
    );
    const destroyed = newRecord({ userId, createdAt: now - 2500 });
    const expired = newRecord({ userId, createdAt: now - 1500, expiresIn: shortTtl });
    const otherUser = newRecord({ userId: newUserId() });
    const anonymous = newRecord();
    // Stored out of order: the listing sorts by createdAt, not by insertion.
    for (const record of [
      sessions[2],
      expired,
      sessions[0],
      destroyed,
      otherUser,
      sessions[3],
      anonymous,
      sessions[1],
    ]) {
      await store.set(record, ttlOf(record));
    }
    await store.destroy(destroyed.id);
    await sleep(shortTtl * 2 + 50);
    const listed = await store.listByUser(userId);
    assert.deepEqual(listed.map(plain), sessions.map(plain));
    listed[0].data.injected = 'x';
    listed[0].userId = 'intruder';
    assert.deepEqual(plain(await store.get(sessions[0].id)), plain(sessions[0]));
    assert.deepEqual((await store.listByUser(userId)).map(plain), sessions.map(plain));
  });

  test('an unknown user has no sessions and nothing to destroy', async (store) => {
    assert.deepEqual(await store.listByUser(newUserId()), []);
    assert.equal(await store.destroyByUser(newUserId()), 0);
  });

  test('destroyByUser deletes every session of the user but `except`, and no one else’s', async (store) => {
    const userId = newUserId();
    const mine = [0, 1, 2, 3].map((i) => newRecord({ userId, createdAt: Date.now() + i }));
    const otherUser = newRecord({ userId: newUserId() });
    const anonymous = newRecord();
    for (const record of [...mine, otherUser, anonymous]) {
      await store.set(record, ttlOf(record));
    }
    assert.equal(await store.destroyByUser(userId, mine[1].id), 3);
    assert.deepEqual(
      (await store.listByUser(userId)).map((record) => record.id),
      [mine[1].id],
    );
    for (const record of [mine[0], mine[2], mine[3]]) {
      assert.equal(await store.get(record.id), null, 'destroyed');
    }
    for (const record of [mine[1], otherUser, anonymous]) {
      assert.notEqual(await store.get(record.id), null, 'kept');
    }
    assert.equal(await store.destroyByUser(userId), 1);
    assert.equal(await store.get(mine[1].id), null);
    assert.deepEqual(await store.listByUser(userId), []);
    assert.equal(await store.destroyByUser(userId), 0);
  });
}

/** `maxSessionsPerUser` under both policies, with concurrent logins. */
export function registerUserLimitTests(test: StoreTest, shortTtl: number): void {
  for (const limitPolicy of ['evict-oldest', undefined] as const) {
    test(`${limitPolicy ?? 'the default policy (evict-oldest)'} evicts the oldest sessions`, async (store) => {
      const userId = newUserId();
      const logins = [0, 1, 2, 3].map((i) => newRecord({ userId, createdAt: Date.now() + i }));
      for (const record of logins) {
        await store.set(record, ttlOf(record), { maxSessionsPerUser: 2, limitPolicy });
      }
      assert.deepEqual(
        (await store.listByUser(userId)).map((record) => record.id),
        [logins[2].id, logins[3].id],
      );
      assert.equal(await store.get(logins[0].id), null, 'the oldest was evicted');
      assert.equal(await store.get(logins[1].id), null, 'the second oldest was evicted');
      assert.notEqual(await store.get(logins[3].id), null);
    });
  }

  test("'refuse' rejects with SessionLimitExceededError and stores nothing", async (store) => {
    const userId = newUserId();
    const limit: SessionWriteOptions = { maxSessionsPerUser: 2, limitPolicy: 'refuse' };
    const [a, b, c, d] = [0, 1, 2, 3].map((i) => newRecord({ userId, createdAt: Date.now() + i }));
    await store.set(a, ttlOf(a), limit);
    await store.set(b, ttlOf(b), limit);
    await assert.rejects(store.set(c, ttlOf(c), limit), SessionLimitExceededError);
    assert.equal(await store.get(c.id), null, 'the refused session is not stored');
    assert.deepEqual(
      (await store.listByUser(userId)).map((record) => record.id),
      [a.id, b.id],
    );
    await store.destroy(a.id);
    await store.set(d, ttlOf(d), limit);
    assert.deepEqual(
      (await store.listByUser(userId)).map((record) => record.id),
      [b.id, d.id],
    );
  });

  test('only live sessions count: expired and destroyed ones free their slot', async (store) => {
    const userId = newUserId();
    const limit: SessionWriteOptions = { maxSessionsPerUser: 1, limitPolicy: 'refuse' };
    const expiring = newRecord({ userId, expiresIn: shortTtl });
    await store.set(expiring, ttlOf(expiring), limit);
    await sleep(shortTtl * 2 + 50);
    const next = newRecord({ userId });
    await store.set(next, ttlOf(next), limit);
    await store.destroy(next.id);
    const last = newRecord({ userId });
    await store.set(last, ttlOf(last), limit);
    assert.deepEqual(
      (await store.listByUser(userId)).map((record) => record.id),
      [last.id],
    );
  });

  test('the limit is per user, and anonymous sessions are not limited', async (store) => {
    const limit: SessionWriteOptions = { maxSessionsPerUser: 1, limitPolicy: 'refuse' };
    const alice = newRecord({ userId: newUserId() });
    const bob = newRecord({ userId: newUserId() });
    await store.set(alice, ttlOf(alice), limit);
    await store.set(bob, ttlOf(bob), limit);
    const anonymous = [newRecord(), newRecord()];
    for (const record of anonymous) {
      await store.set(record, ttlOf(record));
    }
    for (const record of [alice, bob, ...anonymous]) {
      assert.notEqual(await store.get(record.id), null);
    }
  });

  for (const limitPolicy of ['evict-oldest', 'refuse'] as const) {
    test(`${CONCURRENT_LOGINS} concurrent logins never exceed the limit (${limitPolicy})`, async (store) => {
      const userId = newUserId();
      const limit = 3;
      const logins = Array.from({ length: CONCURRENT_LOGINS }, (_, i) =>
        newRecord({ userId, createdAt: Date.now() + i }),
      );
      const outcomes = await Promise.allSettled(
        logins.map((record) =>
          store.set(record, ttlOf(record), { maxSessionsPerUser: limit, limitPolicy }),
        ),
      );
      const stored = logins.filter((_, i) => outcomes[i].status === 'fulfilled');
      for (const outcome of outcomes) {
        if (outcome.status === 'rejected') {
          assert.equal(limitPolicy, 'refuse', `unexpected rejection: ${outcome.reason}`);
          assert.ok(outcome.reason instanceof SessionLimitExceededError, String(outcome.reason));
        }
      }
      const live = (await Promise.all(logins.map((record) => store.get(record.id)))).filter(
        (record) => record !== null,
      );
      const listed = await store.listByUser(userId);
      assert.equal(live.length, limit, 'live sessions');
      assert.equal(listed.length, limit, 'listed sessions');
      if (limitPolicy === 'refuse') {
        assert.equal(stored.length, limit, 'accepted logins');
        assert.deepEqual(
          new Set(live.map((record) => record.id)),
          new Set(stored.map((record) => record.id)),
        );
      } else {
        assert.equal(stored.length, CONCURRENT_LOGINS, 'every login succeeds');
      }
      assert.deepEqual(
        new Set(listed.map((record) => record.id)),
        new Set(live.map((record) => record.id)),
      );
    });
  }
}
