import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import {
  LONG_TTL_MS,
  must,
  newRecord,
  newUserId,
  plain,
  ttlOf,
  type StoreTest,
} from './conformance-records.js';

/**
 * Conformance tests of odd ids, user ids and data keys (unicode, very long, `__proto__`).
 *
 * @internal
 */

/** Odd ids, user ids and data keys. */
export function registerOddInputTests(test: StoreTest): void {
  const oddIds = [
    'ünïcødé-🍪-セッション',
    'x'.repeat(4096),
    '{braces}',
    '}{',
    '{}',
    'with space and\ttab',
    'line\nbreak\u0000nul',
    ':colon:*glob?[x]',
    '__proto__',
    'constructor',
  ];

  test('odd session ids are stored apart and round-trip', async (store) => {
    const suffix = randomUUID();
    const records = oddIds.map((id) => newRecord({ id: `${id}${suffix}`, data: { id } }));
    for (const record of records) {
      await store.set(record, ttlOf(record));
    }
    for (const record of records) {
      assert.deepEqual(plain(await store.get(record.id)), plain(record));
      const now = Date.now();
      await store.update(
        record.id,
        { set: { more: 'm' }, deleted: [] },
        { lastSeenAt: now, expiresAt: now + LONG_TTL_MS },
        LONG_TTL_MS,
      );
    }
    for (const record of records) {
      assert.deepEqual({ ...must(await store.get(record.id)).data }, { ...record.data, more: 'm' });
      await store.destroy(record.id);
      assert.equal(await store.get(record.id), null);
    }
  });

  test('odd user ids are indexed apart', async (store) => {
    const suffix = randomUUID();
    const records = oddIds.map((userId) => newRecord({ userId: `${userId}${suffix}` }));
    for (const record of records) {
      await store.set(record, ttlOf(record), { maxSessionsPerUser: 1, limitPolicy: 'refuse' });
    }
    for (const record of records) {
      const userId = record.userId as string;
      assert.deepEqual((await store.listByUser(userId)).map(plain), [plain(record)]);
    }
    assert.equal(await store.destroyByUser(records[2].userId as string), 1);
    assert.equal(await store.get(records[2].id), null);
    for (const record of records.filter((_, i) => i !== 2)) {
      assert.notEqual(await store.get(record.id), null, `${record.userId} keeps its session`);
    }
  });

  test('odd data keys are stored verbatim and cannot reach metadata or prototypes', async (store) => {
    // JSON.parse makes `__proto__` an own key, as a decoded request body would.
    const data = JSON.parse(
      JSON.stringify({
        userId: 'not-the-user',
        expiresAt: '0',
        createdAt: 'x',
        'd:nested': 'prefix-like',
        constructor: 'c',
        toString: 't',
        ünï: 'u',
        ['k'.repeat(1024)]: 'long',
        '': 'empty key',
      }).replace(/^\{/, '{"__proto__":"proto",'),
    ) as Record<string, string>;
    assert.ok(Object.hasOwn(data, '__proto__'), 'test input has an own __proto__ key');
    const userId = newUserId();
    const record = newRecord({ userId, data });
    await store.set(record, ttlOf(record));
    const stored = must(await store.get(record.id));
    assert.equal(stored.userId, userId);
    assert.equal(stored.expiresAt, record.expiresAt);
    assert.equal(stored.createdAt, record.createdAt);
    assert.deepEqual(Object.keys(stored.data).sort(), Object.keys(data).sort());
    for (const key of Object.keys(data)) {
      assert.ok(Object.hasOwn(stored.data, key), `own key ${key}`);
      assert.equal(stored.data[key], data[key], `value of ${key}`);
    }
    const prototype: unknown = Object.getPrototypeOf(stored.data);
    assert.ok(prototype === Object.prototype || prototype === null, 'data has a plain prototype');

    const now = Date.now();
    const touch = { lastSeenAt: now, expiresAt: now + LONG_TTL_MS };
    const delta = JSON.parse('{"__proto__":"changed","userId":"again"}') as Record<string, string>;
    await store.update(record.id, { set: delta, deleted: ['constructor', ''] }, touch, LONG_TTL_MS);
    const updated = must(await store.get(record.id));
    assert.equal(updated.userId, userId);
    assert.equal(updated.data.__proto__, 'changed');
    assert.ok(Object.hasOwn(updated.data, '__proto__'));
    assert.equal(updated.data.userId, 'again');
    assert.equal(Object.hasOwn(updated.data, 'constructor'), false);
    assert.equal(Object.hasOwn(updated.data, ''), false);
    assert.deepEqual(
      (await store.listByUser(userId)).map((r) => r.id),
      [record.id],
    );
  });
}
