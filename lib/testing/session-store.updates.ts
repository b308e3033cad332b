import { strict as assert } from 'node:assert';
import { SessionRevokedError } from '../core/session.errors.js';
import type { SessionDelta } from '../interfaces/session-store.interface.js';
import {
  LONG_TTL_MS,
  must,
  newId,
  newRecord,
  plain,
  sleep,
  ttlOf,
  type StoreTest,
} from './conformance-records.js';

/**
 * Conformance tests of `update`: deltas, expiry, concurrent updates of one session.
 *
 * @internal
 */

const CONCURRENT_UPDATES = 50;

/** `update`: only the delta, the expiry it sets, concurrent updates. */
export function registerUpdateTests(test: StoreTest, shortTtl: number): void {
  test('applies only the delta and moves the expiry', async (store) => {
    const record = newRecord({ data: { keep: 'k', change: 'old', drop: 'x' } });
    await store.set(record, ttlOf(record));
    const now = Date.now();
    const touch = { lastSeenAt: now, expiresAt: now + LONG_TTL_MS };
    const delta: SessionDelta = {
      set: { change: 'new', add: 'a' },
      deleted: ['drop', 'absent'],
    };
    await store.update(record.id, delta, touch, LONG_TTL_MS);
    assert.deepEqual(plain(await store.get(record.id)), {
      ...plain(record),
      ...touch,
      data: { keep: 'k', change: 'new', add: 'a' },
    });
  });

  test('rejects with SessionRevokedError for an unknown, destroyed or expired session, and brings none back', async (store) => {
    const destroyed = newRecord({ data: { a: '1' } });
    const expired = newRecord({ expiresIn: shortTtl });
    await store.set(destroyed, ttlOf(destroyed));
    await store.set(expired, ttlOf(expired));
    await store.destroy(destroyed.id);
    await sleep(shortTtl * 2 + 50);
    const unknown = newId();
    for (const id of [unknown, destroyed.id, expired.id]) {
      const now = Date.now();
      await assert.rejects(
        store.update(
          id,
          { set: { b: '2' }, deleted: ['a'] },
          { lastSeenAt: now, expiresAt: now + LONG_TTL_MS },
          LONG_TTL_MS,
        ),
        SessionRevokedError,
      );
      assert.equal(await store.get(id), null, `update must not create session ${id}`);
    }
  });

  test('sets the new TTL, longer or shorter', async (store) => {
    const record = newRecord({ expiresIn: shortTtl });
    await store.set(record, ttlOf(record));
    let now = Date.now();
    const longer = { lastSeenAt: now, expiresAt: now + shortTtl * 4 };
    await store.update(record.id, { set: { a: '1' }, deleted: [] }, longer, shortTtl * 4);
    await sleep(shortTtl * 2);
    assert.notEqual(await store.get(record.id), null, 'the update extended the session');
    now = Date.now();
    const shorter = { lastSeenAt: now, expiresAt: now + shortTtl / 2 };
    await store.update(record.id, { set: { b: '2' }, deleted: [] }, shorter, shortTtl / 2);
    await sleep(shortTtl + 50);
    assert.equal(await store.get(record.id), null, 'the update shortened the session');
  });

  test(`${CONCURRENT_UPDATES} concurrent updates, each setting its own key, keep all keys`, async (store) => {
    const record = newRecord({ data: { original: 'o' } });
    await store.set(record, ttlOf(record));
    await Promise.all(
      Array.from({ length: CONCURRENT_UPDATES }, (_, i) => {
        const now = Date.now();
        return store.update(
          record.id,
          { set: { [`key${i}`]: String(i) }, deleted: [] },
          { lastSeenAt: now, expiresAt: now + LONG_TTL_MS },
          LONG_TTL_MS,
        );
      }),
    );
    const expected: Record<string, string> = { original: 'o' };
    for (let i = 0; i < CONCURRENT_UPDATES; i++) {
      expected[`key${i}`] = String(i);
    }
    assert.deepEqual({ ...must(await store.get(record.id)).data }, expected);
  });
}
