import { strict as assert } from 'node:assert';
import { SessionRevokedError } from '../core/session.errors.js';
import type { SessionStore } from '../interfaces/session-store.interface.js';
import {
  LONG_TTL_MS,
  must,
  newId,
  newRecord,
  newUserId,
  plain,
  sleep,
  ttlOf,
  type StoreTest,
} from './conformance-records.js';

/**
 * Conformance tests of the optional `swapDeviceBinding` (`deviceBound`).
 *
 * @internal
 */

const CONCURRENT_SWAPS = 20;

function swap(store: SessionStore, id: string, expected: string | null, next: string) {
  assert.equal(typeof store.swapDeviceBinding, 'function', 'the store has swapDeviceBinding');
  return store.swapDeviceBinding!(id, expected, next);
}

/** `swapDeviceBinding`: compare-and-set, nothing else changed, never on an ended session. */
export function registerDeviceBindingTests(test: StoreTest, shortTtl: number): void {
  test('binds a session that has none, changing nothing else', async (store) => {
    const record = newRecord({ userId: newUserId(), data: { a: '1' } });
    await store.set(record, ttlOf(record));
    assert.equal(must(await store.get(record.id)).deviceBinding ?? null, null);
    assert.equal(await swap(store, record.id, null, 'binding-1'), true);
    assert.deepEqual(plain(await store.get(record.id)), {
      ...plain(record),
      deviceBinding: 'binding-1',
    });
    assert.equal(await swap(store, record.id, 'binding-1', 'binding-2'), true);
    assert.equal(must(await store.get(record.id)).deviceBinding, 'binding-2');
  });

  test('resolves false and changes nothing when the binding is another', async (store) => {
    const record = newRecord({ deviceBinding: 'binding-1' });
    await store.set(record, ttlOf(record));
    assert.equal(await swap(store, record.id, null, 'thief'), false);
    assert.equal(await swap(store, record.id, 'binding-0', 'thief'), false);
    assert.equal(must(await store.get(record.id)).deviceBinding, 'binding-1');
  });

  test('of concurrent swaps from one binding, exactly one wins', async (store) => {
    const record = newRecord({ deviceBinding: 'start' });
    await store.set(record, ttlOf(record));
    const outcomes = await Promise.all(
      Array.from({ length: CONCURRENT_SWAPS }, (_, index) =>
        swap(store, record.id, 'start', `next-${index}`),
      ),
    );
    const winners = outcomes.flatMap((won, index) => (won ? [`next-${index}`] : []));
    assert.equal(winners.length, 1);
    assert.equal(must(await store.get(record.id)).deviceBinding, winners[0]);
  });

  test('the binding survives update, touch and a move to a new id', async (store) => {
    const record = newRecord({ userId: newUserId(), deviceBinding: 'kept' });
    await store.set(record, ttlOf(record));
    const now = Date.now();
    const touch = { lastSeenAt: now, expiresAt: now + LONG_TTL_MS };
    await store.update(record.id, { set: { b: '2' }, deleted: [] }, touch, LONG_TTL_MS);
    await store.touch(record.id, touch, LONG_TTL_MS);
    assert.equal(must(await store.get(record.id)).deviceBinding, 'kept');
    const moved = { ...must(await store.get(record.id)), id: newId() };
    await store.set(moved, ttlOf(moved), { replaces: record.id });
    assert.equal(must(await store.get(moved.id)).deviceBinding, 'kept');
  });

  test('rejects with SessionRevokedError for an unknown, destroyed, moved or expired session, and brings none back', async (store) => {
    const destroyed = newRecord();
    const moved = newRecord({ userId: newUserId() });
    const expired = newRecord({ expiresIn: shortTtl });
    for (const record of [destroyed, moved, expired]) {
      await store.set(record, ttlOf(record));
    }
    await store.destroy(destroyed.id);
    const successor = { ...moved, id: newId() };
    await store.set(successor, ttlOf(successor), { replaces: moved.id });
    await sleep(shortTtl * 2 + 50);
    for (const id of [newId(), destroyed.id, moved.id, expired.id]) {
      await assert.rejects(swap(store, id, null, 'late'), SessionRevokedError);
      assert.equal(await store.get(id), null);
    }
    assert.equal(must(await store.get(successor.id)).deviceBinding ?? null, null);
  });
}
