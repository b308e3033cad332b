import { strict as assert } from 'node:assert';
import { SessionRevokedError } from '../core/session.errors.js';
import {
  LONG_TTL_MS,
  must,
  newId,
  newRecord,
  newUserId,
  plain,
  sleep,
  ttlOf,
} from './conformance-records.js';
import type { StoreTest } from './conformance-records.js';

/**
 * Conformance tests of the basics: get and set (copies, expiry), touch and destroy.
 *
 * @internal
 */

/** `get` and `set`: fields verbatim, copies, expiry. */
export function registerGetSetTests(test: StoreTest, shortTtl: number): void {
  test('get of an unknown id resolves to null', async (store) => {
    assert.equal(await store.get(newId()), null);
  });

  test('set then get returns every field verbatim', async (store) => {
    const anonymous = newRecord({ userAgent: null });
    const user = newRecord({
      userId: newUserId(),
      authenticatedAt: Date.now() - 5,
      userAgent: 'Mozilla/5.0 (X11; Linux x86_64) — ü',
      data: {
        json: '{"a":[1,2,{"b":null}]}',
        empty: '',
        unicode: 'żółć 🍪 日本',
        controls: 'a\u0000b\r\nc\u001f',
        big: 'x'.repeat(64 * 1024),
      },
    });
    await store.set(anonymous, ttlOf(anonymous));
    await store.set(user, ttlOf(user));
    assert.deepEqual(plain(await store.get(anonymous.id)), plain(anonymous));
    assert.deepEqual(plain(await store.get(user.id)), plain(user));
  });

  test('get returns a copy; changing it, or the record given to set, changes nothing stored', async (store) => {
    const record = newRecord({ data: { a: '1' } });
    const expected = plain(record);
    await store.set(record, ttlOf(record));
    record.data.a = 'changed by the caller';
    record.data.b = 'added by the caller';
    record.userId = 'intruder';
    const first = must(await store.get(record.id));
    first.data.a = 'changed by a handler';
    first.data.c = 'added by a handler';
    first.lastSeenAt = 0;
    assert.deepEqual(plain(await store.get(record.id)), expected);
  });

  test('set replaces a session whole', async (store) => {
    const first = newRecord({ data: { a: '1', b: '2' } });
    await store.set(first, ttlOf(first));
    const second = newRecord({ id: first.id, userAgent: 'other', data: { c: '3' } });
    await store.set(second, ttlOf(second));
    assert.deepEqual(plain(await store.get(first.id)), plain(second));
  });

  test('a session is gone once its TTL has passed', async (store) => {
    const record = newRecord({ expiresIn: shortTtl });
    const keep = newRecord();
    await store.set(record, ttlOf(record));
    await store.set(keep, ttlOf(keep));
    assert.notEqual(await store.get(record.id), null, 'alive before its TTL');
    await sleep(shortTtl * 2 + 50);
    assert.equal(await store.get(record.id), null, 'expired after its TTL');
    assert.notEqual(await store.get(keep.id), null, 'a longer-lived session stays');
  });
}

/** `touch` and `destroy`. */
export function registerTouchDestroyTests(test: StoreTest, shortTtl: number): void {
  test('touch moves lastSeenAt and expiresAt and keeps the rest', async (store) => {
    const record = newRecord({ userId: newUserId(), data: { a: '1' } });
    await store.set(record, ttlOf(record));
    const now = Date.now() + 1;
    const touch = { lastSeenAt: now, expiresAt: now + LONG_TTL_MS };
    await store.touch(record.id, touch, LONG_TTL_MS);
    assert.deepEqual(plain(await store.get(record.id)), { ...plain(record), ...touch });
  });

  test('touch extends the life of a session', async (store) => {
    const record = newRecord({ expiresIn: shortTtl * 2 });
    await store.set(record, ttlOf(record));
    await sleep(shortTtl);
    const now = Date.now();
    await store.touch(record.id, { lastSeenAt: now, expiresAt: now + shortTtl * 4 }, shortTtl * 4);
    await sleep(shortTtl * 2);
    assert.notEqual(await store.get(record.id), null, 'alive past its first expiry');
  });

  test('touch of an unknown, destroyed or expired id rejects with SessionRevokedError and creates nothing', async (store) => {
    const destroyed = newRecord();
    const expired = newRecord({ expiresIn: shortTtl });
    await store.set(destroyed, ttlOf(destroyed));
    await store.set(expired, ttlOf(expired));
    await store.destroy(destroyed.id);
    await sleep(shortTtl * 2 + 50);
    for (const id of [newId(), destroyed.id, expired.id]) {
      const now = Date.now();
      await assert.rejects(
        store.touch(id, { lastSeenAt: now, expiresAt: now + LONG_TTL_MS }, LONG_TTL_MS),
        SessionRevokedError,
      );
      assert.equal(await store.get(id), null, `touch must not create session ${id}`);
    }
  });

  test('destroy deletes the session; unknown ids and repeats are fine', async (store) => {
    const record = newRecord({ userId: newUserId() });
    const other = newRecord();
    await store.set(record, ttlOf(record));
    await store.set(other, ttlOf(other));
    await store.destroy(record.id);
    await store.destroy(record.id);
    await store.destroy(newId());
    assert.equal(await store.get(record.id), null);
    assert.notEqual(await store.get(other.id), null);
    assert.deepEqual(await store.listByUser(record.userId as string), []);
  });
}
