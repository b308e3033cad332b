import assert from 'node:assert/strict';
import {
  SessionDataTooLargeError,
  SessionLimitExceededError,
  SessionRevokedError,
} from '../core/session.errors.js';
import type {
  SessionRecord,
  SessionStore,
  SessionTouch,
  SessionWriteOptions,
} from '../interfaces/session-store.interface.js';
import {
  LONG_TTL_MS,
  newRecord,
  newUserId,
  sleep,
  ttlOf,
  type StoreTest,
} from './conformance-records.js';
import { PausingStore, type PausableMethod } from './pausing-session.store.js';

/**
 * Conformance tests of the rules that concurrency could break: a session that ended never
 * comes back, and limits hold (moves are not counted, listings are bounded, `maxDataSize`
 * holds across concurrent updates). Interleavings are forced with a `PausingStore`: a call is
 * held before it reaches the store while the test ends its session, then released.
 *
 * @internal
 */

const CONCURRENT_WRITES = 8;

function touchNow(): SessionTouch {
  const now = Date.now();
  return { lastSeenAt: now, expiresAt: now + LONG_TTL_MS };
}

/** Ways a session ends while a request is using it; each returns once it has. */
type Ending = (store: SessionStore, session: SessionRecord) => Promise<unknown>;

function endings(shortTtl: number): Record<string, Ending> {
  return {
    'destroyed (logout, revoke)': (store, session) => store.destroy(session.id),
    'revoked with all its user’s sessions': (store, session) =>
      store.destroyByUser(session.userId as string),
    'evicted by a login at maxSessionsPerUser': async (store, session) => {
      const login = newRecord({ userId: session.userId, createdAt: session.createdAt + 1 });
      await store.set(login, ttlOf(login), { maxSessionsPerUser: 1 });
    },
    expired: () => sleep(shortTtl * 2 + 50),
  };
}

/** Calls `call` on a pausing view of `store`, holds it, runs `meanwhile`, releases it. */
async function heldWhile<T>(
  store: SessionStore,
  method: PausableMethod,
  call: (store: SessionStore) => Promise<T>,
  meanwhile: () => Promise<unknown>,
): Promise<PromiseSettledResult<T>> {
  const paused = new PausingStore(store);
  const held = paused.hold(method);
  const pending = Promise.allSettled([call(paused)]);
  await held.reached;
  await meanwhile();
  held.release();
  return (await pending)[0];
}

function assertRevoked(outcome: PromiseSettledResult<unknown>, what: string): void {
  assert.equal(outcome.status, 'rejected', `${what} must be refused`);
  assert.ok(
    outcome.status === 'rejected' && outcome.reason instanceof SessionRevokedError,
    `${what} must reject with SessionRevokedError, got ${outcome.status === 'rejected' ? String(outcome.reason) : 'success'}`,
  );
}

async function listedIds(store: SessionStore, userId: string): Promise<string[]> {
  return (await store.listByUser(userId)).map((record) => record.id);
}

/** A user's session, and the record a move of it (regenerate, or a login from it) would write. */
function sessionAndMove(shortTtl: number, anonymous = false) {
  const userId = newUserId();
  const session = newRecord({
    userId: anonymous ? null : userId,
    expiresIn: shortTtl * 2,
    data: { a: '1' },
  });
  const moved = newRecord({ userId, createdAt: session.createdAt, data: { a: '1' } });
  return { userId, session, moved };
}

export function registerEndedSessionTests(test: StoreTest, shortTtl: number): void {
  for (const [name, end] of Object.entries(endings(shortTtl))) {
    test(`a move (replaces) held in flight while its session is ${name}: refused, nothing stored`, async (store) => {
      for (const anonymous of name.startsWith('destroyed') || name === 'expired'
        ? [false, true]
        : [false]) {
        const { userId, session, moved } = sessionAndMove(shortTtl, anonymous);
        await store.set(session, ttlOf(session), anonymous ? {} : { maxSessionsPerUser: 5 });
        const outcome = await heldWhile(
          store,
          'set',
          (paused) =>
            paused.set(moved, ttlOf(moved), { maxSessionsPerUser: 5, replaces: session.id }),
          () => end(store, session),
        );
        const what = `the move of ${anonymous ? 'an anonymous' : "a user's"} session`;
        assertRevoked(outcome, what);
        assert.equal(await store.get(moved.id), null, `${what} stored its new session`);
        assert.equal(await store.get(session.id), null, `${what} brought the old one back`);
        assert.ok(!(await listedIds(store, userId)).includes(moved.id), 'the new id is listed');
      }
    });

    for (const method of ['update', 'touch'] as const) {
      test(`${method === 'update' ? 'an update' : 'a touch'} held in flight while its session is ${name}: refused, nothing created`, async (store) => {
        const { userId, session } = sessionAndMove(shortTtl);
        await store.set(session, ttlOf(session), { maxSessionsPerUser: 5 });
        const outcome = await heldWhile(
          store,
          method,
          (paused) =>
            method === 'update'
              ? paused.update(
                  session.id,
                  { set: { b: '2' }, deleted: [] },
                  touchNow(),
                  LONG_TTL_MS,
                  { maxDataSize: 1024 },
                )
              : paused.touch(session.id, touchNow(), LONG_TTL_MS),
          () => end(store, session),
        );
        assertRevoked(outcome, `the ${method}`);
        assert.equal(await store.get(session.id), null, `the ${method} brought the session back`);
        assert.ok(!(await listedIds(store, userId)).includes(session.id));
      });
    }
  }

  test('a move ends the old session: its id no longer reads, updates, touches or moves', async (store) => {
    const { userId, session, moved } = sessionAndMove(LONG_TTL_MS);
    await store.set(session, ttlOf(session), { maxSessionsPerUser: 5 });
    await store.set(moved, ttlOf(moved), { maxSessionsPerUser: 5, replaces: session.id });
    assert.equal(await store.get(session.id), null);
    assert.deepEqual(await listedIds(store, userId), [moved.id]);
    await assert.rejects(
      store.update(session.id, { set: { b: '2' }, deleted: [] }, touchNow(), LONG_TTL_MS),
      SessionRevokedError,
    );
    await assert.rejects(store.touch(session.id, touchNow(), LONG_TTL_MS), SessionRevokedError);
    const again = newRecord({ userId });
    await assert.rejects(
      store.set(again, ttlOf(again), { maxSessionsPerUser: 5, replaces: session.id }),
      SessionRevokedError,
    );
    assert.equal(await store.get(session.id), null);
    assert.equal(await store.get(again.id), null);
    assert.deepEqual(await listedIds(store, userId), [moved.id]);
    // And a revoke-all after the move ends the new session.
    assert.equal(await store.destroyByUser(userId), 1);
    assert.equal(await store.get(moved.id), null);
  });

  test('two moves of one session in flight together: one wins, the other is refused', async (store) => {
    const { userId, session } = sessionAndMove(LONG_TTL_MS);
    await store.set(session, ttlOf(session), { maxSessionsPerUser: 5 });
    const moves = [0, 1].map(() => newRecord({ userId, createdAt: session.createdAt }));
    const paused = new PausingStore(store);
    const held = paused.hold('set', { count: 2 });
    const pending = Promise.allSettled(
      moves.map((move) =>
        paused.set(move, ttlOf(move), { maxSessionsPerUser: 5, replaces: session.id }),
      ),
    );
    await held.reached;
    held.release();
    const outcomes = await pending;
    const won = moves.filter((_, i) => outcomes[i].status === 'fulfilled');
    assert.equal(won.length, 1, 'exactly one move succeeds');
    assertRevoked(
      outcomes.find((outcome) => outcome.status === 'rejected')!,
      'the second move',
    );
    assert.deepEqual(await listedIds(store, userId), [won[0].id]);
    for (const move of moves) {
      assert.equal((await store.get(move.id)) !== null, move === won[0], `${move.id} lives`);
    }
  });

  test('a login as another user from a live session ends it for its own user', async (store) => {
    const first = newUserId();
    const second = newUserId();
    const session = newRecord({ userId: first });
    const moved = newRecord({ userId: second });
    await store.set(session, ttlOf(session), { maxSessionsPerUser: 5 });
    await store.set(moved, ttlOf(moved), { maxSessionsPerUser: 5, replaces: session.id });
    assert.equal(await store.get(session.id), null);
    assert.deepEqual(await listedIds(store, first), []);
    assert.deepEqual(await listedIds(store, second), [moved.id]);
    assert.equal(await store.destroyByUser(first), 0, 'revoking the first user ends nothing');
    assert.notEqual(await store.get(moved.id), null);
  });
}

export function registerLimitTests(test: StoreTest): void {
  for (const limitPolicy of ['refuse', 'evict-oldest'] as const) {
    test(`a move of one of the user's sessions is not counted (${limitPolicy}): accepted at the limit, no other session evicted`, async (store) => {
      const userId = newUserId();
      const limit: SessionWriteOptions = { maxSessionsPerUser: 2, limitPolicy };
      const now = Date.now();
      const [first, second] = [0, 1].map((i) => newRecord({ userId, createdAt: now + i }));
      await store.set(first, ttlOf(first), limit);
      await store.set(second, ttlOf(second), limit);
      // The newer device regenerates: the older one keeps its session.
      const moved = newRecord({ userId, createdAt: second.createdAt });
      await store.set(moved, ttlOf(moved), { ...limit, replaces: second.id });
      assert.deepEqual(new Set(await listedIds(store, userId)), new Set([first.id, moved.id]));
      assert.notEqual(await store.get(first.id), null, 'the other device keeps its session');
      assert.equal(await store.get(second.id), null, 'the replaced session is gone');
      // Then the older one (the first to evict) does.
      const movedFirst = newRecord({ userId, createdAt: first.createdAt });
      await store.set(movedFirst, ttlOf(movedFirst), { ...limit, replaces: first.id });
      assert.deepEqual(new Set(await listedIds(store, userId)), new Set([movedFirst.id, moved.id]));
      assert.notEqual(await store.get(moved.id), null, 'the other device keeps its session');
      // A fresh login is still held to the limit.
      const third = newRecord({ userId });
      if (limitPolicy === 'refuse') {
        await assert.rejects(store.set(third, ttlOf(third), limit), SessionLimitExceededError);
      } else {
        await store.set(third, ttlOf(third), limit);
        assert.equal((await listedIds(store, userId)).length, 2);
      }
    });
  }

  test('listByUser with a limit returns only the newest sessions, oldest first', async (store) => {
    const userId = newUserId();
    const now = Date.now();
    const sessions = Array.from({ length: 6 }, (_, i) => newRecord({ userId, createdAt: now + i }));
    for (const record of sessions) {
      await store.set(record, ttlOf(record));
    }
    await store.destroy(sessions[4].id);
    const listed = (await store.listByUser(userId, 3)).map((record) => record.id);
    assert.deepEqual(listed, [sessions[2].id, sessions[3].id, sessions[5].id]);
    assert.equal((await store.listByUser(userId, 100)).length, 5);
    assert.equal((await store.listByUser(userId)).length, 5);
  });

  test(`${CONCURRENT_WRITES} concurrent updates cannot add up past maxDataSize`, async (store) => {
    const session = newRecord();
    await store.set(session, ttlOf(session));
    const paused = new PausingStore(store);
    const held = paused.hold('update', { count: CONCURRENT_WRITES });
    // Each write fits the 1 KiB limit on its own (the request checked that); two do not.
    const pending = Promise.allSettled(
      Array.from({ length: CONCURRENT_WRITES }, (_, i) =>
        paused.update(
          session.id,
          { set: { [`k${i}`]: 'x'.repeat(800) }, deleted: [] },
          touchNow(),
          LONG_TTL_MS,
          { maxDataSize: 1024 },
        ),
      ),
    );
    await held.reached;
    held.release();
    const outcomes = await pending;
    assert.equal(outcomes.filter((outcome) => outcome.status === 'fulfilled').length, 1);
    for (const outcome of outcomes) {
      if (outcome.status === 'rejected') {
        assert.ok(outcome.reason instanceof SessionDataTooLargeError, String(outcome.reason));
      }
    }
    const stored = (await store.get(session.id))?.data ?? {};
    const size = Object.entries(stored).reduce(
      (sum, [key, value]) => sum + Buffer.byteLength(key) + Buffer.byteLength(value),
      0,
    );
    assert.ok(size <= 1024, `${size} bytes stored under a 1024-byte maxDataSize`);
  });

  test('maxDataSize is measured on the stored data after the delta (replaced and deleted keys)', async (store) => {
    const session = newRecord({ data: { a: 'x'.repeat(500), b: 'y'.repeat(400) } });
    await store.set(session, ttlOf(session));
    const limit = { maxDataSize: 1024 };
    await assert.rejects(
      store.update(
        session.id,
        { set: { c: 'z'.repeat(200) }, deleted: [] },
        touchNow(),
        LONG_TTL_MS,
        limit,
      ),
      SessionDataTooLargeError,
    );
    assert.deepEqual(Object.keys((await store.get(session.id))?.data ?? {}).sort(), ['a', 'b']);
    await store.update(
      session.id,
      { set: { a: 'w'.repeat(300), c: 'z'.repeat(200) }, deleted: ['b'] },
      touchNow(),
      LONG_TTL_MS,
      limit,
    );
    assert.deepEqual(Object.keys((await store.get(session.id))?.data ?? {}).sort(), ['a', 'c']);
    // 'é' is two bytes: the measure is UTF-8 bytes, not characters.
    await assert.rejects(
      store.update(
        session.id,
        { set: { d: 'é'.repeat(270) }, deleted: [] },
        touchNow(),
        LONG_TTL_MS,
        limit,
      ),
      SessionDataTooLargeError,
    );
  });
}
