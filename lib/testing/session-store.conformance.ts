import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { SessionLimitExceededError, SessionRevokedError } from '../core/session.errors.js';
import type {
  SessionDelta,
  SessionStore,
  SessionWriteOptions,
} from '../interfaces/session-store.interface.js';
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
import { registerEndedSessionTests, registerLimitTests } from './session-store.atomicity.js';

/**
 * The parts of a test runner the suite uses. Jest, Vitest, Mocha and `node:test` all provide
 * them (for `node:test`, `it` and `describe` come from the module).
 */
export interface ConformanceRunner {
  describe(name: string, body: () => void): void;
  it(name: string, body: () => Promise<void>): void;
}

/** Options of `runSessionStoreConformance`. */
export interface SessionStoreConformanceOptions {
  /** Names the store in the suite's title. */
  name: string;
  /**
   * Makes the store under test; called at the start of every test. It may return the same
   * instance each time: every test uses fresh random session and user ids.
   */
  createStore(): SessionStore | Promise<SessionStore>;
  /** Called after every test with its store. Default: `store.close?.()`. */
  disposeStore?(store: SessionStore): Promise<void> | void;
  /**
   * The runner's `describe` and `it`. Default: the `describe` and `it` globals (Jest, Vitest
   * with `globals: true`, Mocha); pass them explicitly for `node:test` or an ESM Jest setup
   * that imports them from `@jest/globals`.
   */
  runner?: ConformanceRunner;
  /**
   * Short TTL used by expiry tests, in ms. Default 150. The suite waits about twice this long
   * for a session to expire; raise it for a store whose expiry is coarser.
   */
  shortTtlMs?: number;
}

const CONCURRENT_UPDATES = 50;
const CONCURRENT_LOGINS = 25;

/**
 * Registers the conformance suite of the `SessionStore` contract: every store, built in or
 * third-party, should pass it. It checks expiry, copies, delta updates, concurrent updates of
 * one session, touch, destroy, the per-user index, `maxSessionsPerUser` under both policies
 * with concurrent logins (and moves, which it must not count), `maxDataSize` on concurrent
 * updates, odd ids, user ids and data keys (unicode, very long, `__proto__`), and that a
 * session that ended never comes back: moves (`replaces`), updates and touches held in flight
 * (by a `PausingStore`) while their session is destroyed, revoked with the rest of its user's,
 * evicted by a login or expires, must reject with `SessionRevokedError` and write nothing.
 *
 * The suite takes the runner's `describe`/`it` as a parameter (or uses its globals) and asserts
 * with `node:assert`, so it has no dependency on any test framework: importing it never pulls
 * in Jest. Call it at the top level of a test file. It uses real time (expiry tests wait a few
 * hundred ms) and leaves its sessions in the store; give it a store that is private to the test
 * run (e.g. a unique key prefix) and clean up after.
 *
 * @example
 * ```ts
 * // my-store.conformance.spec.ts (Jest, ESM)
 * import { describe, it } from '@jest/globals';
 * import { runSessionStoreConformance } from 'nest-secure-session/testing';
 *
 * runSessionStoreConformance({
 *   name: 'MyStore',
 *   createStore: () => new MyStore(),
 *   runner: { describe, it },
 * });
 * ```
 * @example
 * ```ts
 * // node:test
 * import { describe, it } from 'node:test';
 * runSessionStoreConformance({ name: 'MyStore', createStore: () => new MyStore(), runner: { describe, it } });
 * ```
 */
export function runSessionStoreConformance(options: SessionStoreConformanceOptions): void {
  const runner = options.runner ?? globalRunner();
  const shortTtl = options.shortTtlMs ?? 150;
  const dispose = options.disposeStore ?? ((store: SessionStore) => store.close?.());

  const test = (name: string, body: (store: SessionStore) => Promise<void>): void =>
    runner.it(name, async () => {
      const store = await options.createStore();
      try {
        await body(store);
      } finally {
        await dispose(store);
      }
    });

  runner.describe(`SessionStore conformance: ${options.name}`, () => {
    runner.describe('get and set', () => {
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
    });

    runner.describe('update', () => {
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
    });

    runner.describe('touch and destroy', () => {
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
        await store.touch(
          record.id,
          { lastSeenAt: now, expiresAt: now + shortTtl * 4 },
          shortTtl * 4,
        );
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
    });

    runner.describe('per-user index', () => {
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
    });

    runner.describe('maxSessionsPerUser', () => {
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
        const [a, b, c, d] = [0, 1, 2, 3].map((i) =>
          newRecord({ userId, createdAt: Date.now() + i }),
        );
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
              assert.ok(
                outcome.reason instanceof SessionLimitExceededError,
                String(outcome.reason),
              );
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
    });

    runner.describe('limits that hold: moves, listings, maxDataSize', () => {
      registerLimitTests(test);
    });

    runner.describe('a session that ended never comes back (forced interleavings)', () => {
      registerEndedSessionTests(test, shortTtl);
    });

    runner.describe('odd input', () => {
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
          assert.deepEqual(
            { ...must(await store.get(record.id)).data },
            { ...record.data, more: 'm' },
          );
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
        assert.ok(
          prototype === Object.prototype || prototype === null,
          'data has a plain prototype',
        );

        const now = Date.now();
        const touch = { lastSeenAt: now, expiresAt: now + LONG_TTL_MS };
        const delta = JSON.parse('{"__proto__":"changed","userId":"again"}') as Record<
          string,
          string
        >;
        await store.update(
          record.id,
          { set: delta, deleted: ['constructor', ''] },
          touch,
          LONG_TTL_MS,
        );
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
    });
  });
}

/** `describe`/`it` from the runner's globals, or a clear error when there are none. */
function globalRunner(): ConformanceRunner {
  const scope = globalThis as { describe?: unknown; it?: unknown };
  if (typeof scope.describe !== 'function' || typeof scope.it !== 'function') {
    throw new Error(
      'runSessionStoreConformance found no global describe/it: pass your runner, e.g. runner: { describe, it }',
    );
  }
  return { describe: scope.describe, it: scope.it } as ConformanceRunner;
}
