import assert from 'node:assert/strict';
import { SessionRevokedError } from '../core/session.errors.js';
import type {
  SessionRecord,
  SessionRotation,
  SessionStore,
} from '../interfaces/session-store.interface.js';
import {
  LONG_TTL_MS,
  newRecord,
  newUserId,
  sleep,
  ttlOf,
  type StoreTest,
} from './conformance-records.js';
import { PausingStore } from './pausing-session.store.js';

/**
 * Conformance tests of token rotation (`supportsRotation`): the move and the tombstone are one
 * atomic step, two rotations of one id yield one successor, a rotation racing a logout, a
 * revoke-all or an eviction never brings the session back, and a tombstone never lets an ended
 * session return. Interleavings are forced with a `PausingStore`. A store that does not declare
 * `supportsRotation` has nothing to check here (the library refuses `rotateEvery` for it).
 *
 * @internal
 */

const LIMIT = { maxSessionsPerUser: 5 } as const;

function rotationAt(now = Date.now()): SessionRotation {
  return { graceEndsAt: now + 10_000, successor: `sealed-successor-${now}` };
}

/** A stored session of a new user, and `rotate(from)`: the record a rotation of it writes. */
async function storedSession(store: SessionStore, spec: Partial<SessionRecord> = {}) {
  const userId = newUserId();
  const session = newRecord({ userId, data: { a: '1' }, ...spec });
  await store.set(session, ttlOf(session), LIMIT);
  return { userId, session };
}

/** The record of `from` under a new id, as a rotation writes it. */
function successorOf(from: SessionRecord): SessionRecord {
  const now = Date.now();
  const originId = from.originId ?? from.id;
  return {
    ...newRecord({ ...from, rotatedAt: now, originId, lastSeenAt: now }),
    id: newRecord().id,
  };
}

async function rotate(store: SessionStore, from: SessionRecord, rotation = rotationAt()) {
  const to = successorOf(from);
  await store.set(to, ttlOf(to), { ...LIMIT, replaces: from.id, rotation });
  return to;
}

async function listedIds(store: SessionStore, userId: string): Promise<string[]> {
  return (await store.listByUser(userId)).map((record) => record.id);
}

function assertRevoked(outcome: PromiseSettledResult<unknown>, what: string): void {
  assert.ok(
    outcome.status === 'rejected' && outcome.reason instanceof SessionRevokedError,
    `${what} must reject with SessionRevokedError, got ${outcome.status === 'rejected' ? String(outcome.reason) : 'success'}`,
  );
}

/** The store's rotation methods; fails the test when a rotating store lacks one. */
function rotating(store: SessionStore) {
  const { getTombstone, destroyRotated } = store;
  assert.equal(typeof getTombstone, 'function', 'supportsRotation needs getTombstone()');
  assert.equal(typeof destroyRotated, 'function', 'supportsRotation needs destroyRotated()');
  return {
    tombstone: (id: string) => store.getTombstone!(id),
    destroyRotated: (id: string) => store.destroyRotated!(id),
  };
}

export function registerRotationTests(test: StoreTest, shortTtl: number): void {
  /** Runs `body` for a store that declares rotation (see the file notes). */
  const rotationTest = (name: string, body: (store: SessionStore) => Promise<void>) =>
    test(name, async (store) => {
      if (store.supportsRotation === true) {
        assert.equal(store.supportsReplaces, true, 'supportsRotation needs supportsReplaces');
        await body(store);
      }
    });

  rotationTest(
    'a rotation moves the session and leaves a tombstone for the old id, in one step',
    async (store) => {
      const { tombstone } = rotating(store);
      const { userId, session } = await storedSession(store);
      assert.equal(await tombstone(session.id), null, 'a live id has no tombstone');
      assert.equal(await tombstone(newRecord().id), null, 'an unknown id has no tombstone');
      const rotation = rotationAt();
      const to = await rotate(store, session, rotation);
      assert.equal(await store.get(session.id), null, 'the old id reads as gone');
      const stored = await store.get(to.id);
      assert.equal(stored?.rotatedAt, to.rotatedAt, 'rotatedAt is kept');
      assert.equal(stored?.originId, session.id, 'originId is kept');
      assert.deepEqual({ ...stored?.data }, { a: '1' });
      assert.deepEqual(await tombstone(session.id), {
        successorId: to.id,
        graceEndsAt: rotation.graceEndsAt,
        successor: rotation.successor,
        userId,
      });
      assert.equal(await tombstone(to.id), null, 'the successor is live');
      assert.deepEqual(await listedIds(store, userId), [to.id], 'one session, under its new id');
      // The tombstone is never a session: no update, touch or move of the old id.
      const touch = { lastSeenAt: Date.now(), expiresAt: Date.now() + LONG_TTL_MS };
      await assert.rejects(
        store.update(session.id, { set: { b: '2' }, deleted: [] }, touch, LONG_TTL_MS),
        SessionRevokedError,
      );
      await assert.rejects(store.touch(session.id, touch, LONG_TTL_MS), SessionRevokedError);
      await assert.rejects(rotate(store, session), SessionRevokedError);
      assert.equal(await store.get(session.id), null);
    },
  );

  rotationTest('a plain move (no rotation) leaves no rotation tombstone', async (store) => {
    const { tombstone } = rotating(store);
    const { session } = await storedSession(store);
    const to = successorOf(session);
    await store.set(to, ttlOf(to), { ...LIMIT, replaces: session.id });
    assert.equal(await tombstone(session.id), null);
  });

  rotationTest(
    'two rotations of one token in flight together: one successor, the other refused',
    async (store) => {
      const { tombstone } = rotating(store);
      const { userId, session } = await storedSession(store);
      const successors = [0, 1].map(() => successorOf(session));
      const paused = new PausingStore(store);
      const held = paused.hold('set', { count: 2 });
      const pending = Promise.allSettled(
        successors.map((to) =>
          paused.set(to, ttlOf(to), { ...LIMIT, replaces: session.id, rotation: rotationAt() }),
        ),
      );
      await held.reached;
      held.release();
      const outcomes = await pending;
      const won = successors.filter((_, i) => outcomes[i].status === 'fulfilled');
      assert.equal(won.length, 1, 'exactly one rotation succeeds');
      assertRevoked(
        outcomes.find((outcome) => outcome.status === 'rejected')!,
        'the second',
      );
      assert.deepEqual(await listedIds(store, userId), [won[0].id]);
      assert.equal((await tombstone(session.id))?.successorId, won[0].id);
      for (const to of successors) {
        assert.equal((await store.get(to.id)) !== null, to === won[0], `${to.id} lives`);
      }
    },
  );

  const endings: Record<string, (store: SessionStore, session: SessionRecord) => Promise<unknown>> =
    {
      'logged out (destroyRotated)': (store, session) => rotating(store).destroyRotated(session.id),
      'revoked (destroy)': (store, session) => store.destroy(session.id),
      'revoked with all its user’s sessions': (store, session) =>
        store.destroyByUser(session.userId as string),
      'evicted by a login at maxSessionsPerUser': async (store, session) => {
        const login = newRecord({ userId: session.userId, createdAt: session.createdAt + 1 });
        await store.set(login, ttlOf(login), { maxSessionsPerUser: 1 });
      },
    };
  for (const [name, end] of Object.entries(endings)) {
    rotationTest(
      `a rotation held in flight while its session is ${name}: refused, nothing stored, no tombstone`,
      async (store) => {
        const { tombstone } = rotating(store);
        const { userId, session } = await storedSession(store);
        const to = successorOf(session);
        const paused = new PausingStore(store);
        const held = paused.hold('set');
        const pending = Promise.allSettled([
          paused.set(to, ttlOf(to), { ...LIMIT, replaces: session.id, rotation: rotationAt() }),
        ]);
        await held.reached;
        await end(store, session);
        held.release();
        assertRevoked((await pending)[0], 'the rotation');
        assert.equal(await store.get(to.id), null, 'the rotation stored its successor');
        assert.equal(await store.get(session.id), null, 'the rotation brought the session back');
        assert.equal(await tombstone(session.id), null, 'a tombstone points nowhere useful');
        assert.ok(!(await listedIds(store, userId)).includes(to.id));
      },
    );
  }

  rotationTest(
    'destroyRotated follows every rotation to the live end, and removes the tombstones',
    async (store) => {
      const { tombstone, destroyRotated } = rotating(store);
      const { userId, session } = await storedSession(store);
      const second = await rotate(store, session);
      const third = await rotate(store, second);
      assert.deepEqual(await destroyRotated(session.id), [third.id]);
      for (const id of [session.id, second.id, third.id]) {
        assert.equal(await store.get(id), null);
        assert.equal(await tombstone(id), null);
      }
      assert.deepEqual(await listedIds(store, userId), []);
      assert.deepEqual(await destroyRotated(session.id), [], 'nothing is left to end');
      const { session: live } = await storedSession(store);
      assert.deepEqual(await destroyRotated(live.id), [live.id], 'a live id is simply ended');
    },
  );

  rotationTest('a tombstone never lets an ended session back', async (store) => {
    const { tombstone } = rotating(store);
    const { userId, session } = await storedSession(store);
    const to = await rotate(store, session);
    await store.destroy(to.id);
    const left = await tombstone(session.id);
    assert.equal(left === null ? null : await store.get(left.successorId), null);
    await assert.rejects(rotate(store, session), SessionRevokedError);
    await assert.rejects(rotate(store, to), SessionRevokedError);
    assert.deepEqual(await listedIds(store, userId), []);
  });

  rotationTest('a revoke-all after a rotation ends the successor', async (store) => {
    const { userId, session } = await storedSession(store);
    const to = await rotate(store, session);
    assert.equal(await store.destroyByUser(userId), 1);
    assert.equal(await store.get(to.id), null, 'the rotated session survived a revoke-all');
    assert.deepEqual(await listedIds(store, userId), []);
  });

  for (const order of ['the rotation first', 'destroyRotated first'] as const) {
    rotationTest(
      `destroyRotated racing a rotation of the live end (${order}): nothing survives`,
      async (store) => {
        const { destroyRotated } = rotating(store);
        const { userId, session } = await storedSession(store);
        const second = await rotate(store, session);
        const third = successorOf(second);
        const paused = new PausingStore(store);
        const write = () =>
          paused.set(third, ttlOf(third), {
            ...LIMIT,
            replaces: second.id,
            rotation: rotationAt(),
          });
        if (order === 'the rotation first') {
          const held = paused.hold('destroyRotated');
          const ending = paused.destroyRotated(session.id);
          await held.reached;
          await write();
          held.release();
          assert.deepEqual(await ending, [third.id]);
        } else {
          const held = paused.hold('set');
          const rotation = Promise.allSettled([write()]);
          await held.reached;
          assert.deepEqual(await destroyRotated(session.id), [second.id]);
          held.release();
          assertRevoked((await rotation)[0], 'the rotation');
        }
        for (const id of [session.id, second.id, third.id]) {
          assert.equal(await store.get(id), null, `${id} survived`);
        }
        assert.deepEqual(await listedIds(store, userId), []);
      },
    );
  }

  rotationTest(
    'a tombstone is kept until the absolute expiry of its session, not beyond',
    async (store) => {
      const { tombstone } = rotating(store);
      const now = Date.now();
      const { session } = await storedSession(store, {
        createdAt: now,
        expiresAt: now + shortTtl * 2,
        absoluteExpiresAt: now + shortTtl * 2,
      });
      const to = successorOf(session);
      await store.set(to, ttlOf(to), { ...LIMIT, replaces: session.id, rotation: rotationAt() });
      assert.notEqual(await tombstone(session.id), null);
      await sleep(shortTtl * 2 + 100);
      assert.equal(await tombstone(session.id), null);
    },
  );
}
