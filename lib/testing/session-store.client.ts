import { strict as assert } from 'node:assert';
import { SessionRevokedError } from '../core/session.errors.js';
import type { ClientFingerprint } from '../interfaces/session-store.interface.js';
import { must, newRecord, newUserId, ttlOf, type StoreTest } from './conformance-records.js';

/**
 * Conformance tests of the client fingerprint (hijack signals), for a store with `setClient`:
 * the `client` field is kept verbatim, and `setClient` never brings back a session.
 *
 * @internal
 */

const AT_LOGIN: ClientFingerprint = {
  agent: 'firefox/133',
  network: 'q1x7dW9Xc0RkR0hQY2Zz_w',
  stepUp: false,
};

export function registerClientTests(test: StoreTest): void {
  test('the client fingerprint round-trips verbatim through set, get, listByUser and a move', async (store) => {
    if (store.setClient === undefined) {
      return; // No hijack signals for this store: nothing to keep.
    }
    const userId = newUserId();
    const record = newRecord({ userId, authenticatedAt: Date.now(), client: { ...AT_LOGIN } });
    await store.set(record, ttlOf(record));
    assert.deepEqual(must(await store.get(record.id)).client, AT_LOGIN);
    const [listed] = await store.listByUser(userId);
    assert.deepEqual(listed.client, AT_LOGIN);
    listed.client!.agent = 'changed-by-reference';
    assert.deepEqual(must(await store.get(record.id)).client, AT_LOGIN, 'a copy');
    const moved = newRecord({
      userId,
      createdAt: record.createdAt,
      client: { agent: null, network: null, stepUp: true },
    });
    await store.set(moved, ttlOf(moved), { replaces: record.id });
    assert.deepEqual(must(await store.get(moved.id)).client, {
      agent: null,
      network: null,
      stepUp: true,
    });
    const plain = newRecord();
    await store.set(plain, ttlOf(plain));
    assert.equal(must(await store.get(plain.id)).client ?? null, null, 'none when none was set');
  });

  test('setClient replaces only the fingerprint: data, activity and expiry stay', async (store) => {
    if (store.setClient === undefined) {
      return;
    }
    const record = newRecord({ userId: newUserId(), data: { a: '"1"' }, client: AT_LOGIN });
    await store.set(record, ttlOf(record));
    const next: ClientFingerprint = {
      agent: 'firefox/134',
      network: AT_LOGIN.network,
      stepUp: true,
    };
    await store.setClient(record.id, next);
    const stored = must(await store.get(record.id));
    assert.deepEqual(stored.client, next);
    assert.deepEqual({ ...stored.data }, { a: '"1"' });
    assert.equal(stored.expiresAt, record.expiresAt);
    assert.equal(stored.lastSeenAt, record.lastSeenAt);
  });

  test('setClient of a session that ended (or never was) rejects and creates nothing', async (store) => {
    if (store.setClient === undefined) {
      return;
    }
    const record = newRecord({ userId: newUserId(), client: AT_LOGIN });
    await store.set(record, ttlOf(record));
    await store.destroy(record.id);
    await assert.rejects(store.setClient(record.id, AT_LOGIN), SessionRevokedError);
    assert.equal(await store.get(record.id), null);
    const unknown = newRecord();
    await assert.rejects(store.setClient(unknown.id, AT_LOGIN), SessionRevokedError);
    assert.equal(await store.get(unknown.id), null);
  });
}
