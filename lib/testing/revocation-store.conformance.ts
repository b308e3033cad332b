import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import type {
  RevocationStore,
  RevocationSubject,
} from '../interfaces/revocation-store.interface.js';
import type { ConformanceRunner } from './session-store.conformance.js';

/** Options of `runRevocationStoreConformance`. */
export interface RevocationStoreConformanceOptions {
  /** Names the store in the suite's title. */
  name: string;
  /**
   * Makes the store under test; called at the start of every test. It may return the same
   * instance each time: every test uses fresh random session and user ids.
   */
  createStore(): RevocationStore | Promise<RevocationStore>;
  /** Called after every test with its store. Default: `store.close?.()`. */
  disposeStore?(store: RevocationStore): Promise<void> | void;
  /** The runner's `describe` and `it`; default the globals (see `runSessionStoreConformance`). */
  runner?: ConformanceRunner;
  /**
   * Revocations written by the flood tests, which prove that no unexpired revocation is ever
   * evicted to make room. Default 2 000; give a bounded store a smaller capacity than this.
   */
  floodSize?: number;
  /** Short lifetime used by the real-time expiry test, in ms. Default 150. */
  shortTtlMs?: number;
}

const HOUR = 3_600_000;
const BATCH = 100;

/**
 * Registers the conformance suite of the `RevocationStore` contract (stateless mode's
 * `revocationStore`): revocation by id and by user not-before, expiry at `until`, later calls
 * that never shorten earlier ones, odd ids, and floods that must never evict an unexpired
 * revocation (a bounded store may fail closed, refusing more, but never less). Framework-free
 * like `runSessionStoreConformance`; uses real time only in one short expiry test.
 *
 * @example
 * ```ts
 * import { describe, it } from '@jest/globals';
 * import { runRevocationStoreConformance } from 'nest-secure-session/testing';
 *
 * runRevocationStoreConformance({
 *   name: 'MyRevocationStore',
 *   createStore: () => new MyRevocationStore(),
 *   runner: { describe, it },
 * });
 * ```
 */
export function runRevocationStoreConformance(options: RevocationStoreConformanceOptions): void {
  const runner = options.runner ?? globalRunner();
  const floodSize = options.floodSize ?? 2_000;
  const shortTtl = options.shortTtlMs ?? 150;
  const dispose = options.disposeStore ?? ((store: RevocationStore) => store.close?.());

  const test = (name: string, body: (store: RevocationStore, now: number) => Promise<void>) =>
    runner.it(name, async () => {
      const store = await options.createStore();
      try {
        await body(store, Date.now());
      } finally {
        await dispose(store);
      }
    });

  runner.describe(`RevocationStore conformance: ${options.name}`, () => {
    test('an id never revoked is not revoked, with or without a user', async (store, now) => {
      assert.equal(await store.isRevoked(subject({ createdAt: now - 1_000 }), now), false);
      const user = subject({ userId: newUserId(), createdAt: now - 1_000 });
      assert.equal(await store.isRevoked(user, now), false);
    });

    test('revoke refuses that id until `until`, and no other id', async (store, now) => {
      const revoked = subject({ userId: newUserId(), createdAt: now - 1_000 });
      await store.revoke(revoked.id, now + HOUR, now);
      assert.equal(await store.isRevoked(revoked, now), true);
      assert.equal(await store.isRevoked({ ...revoked, userId: null }, now), true);
      assert.equal(await store.isRevoked(subject({ userId: revoked.userId }), now), false);
      assert.equal(await store.isRevoked(revoked, now + HOUR - 1), true);
      assert.equal(await store.isRevoked(revoked, now + HOUR), false);
    });

    test('a later revoke never shortens an earlier one; a later `until` extends it', async (store, now) => {
      const revoked = subject();
      await store.revoke(revoked.id, now + 2 * HOUR, now);
      await store.revoke(revoked.id, now + HOUR, now);
      assert.equal(await store.isRevoked(revoked, now + HOUR + 1), true);
      await store.revoke(revoked.id, now + 3 * HOUR, now);
      assert.equal(await store.isRevoked(revoked, now + 2 * HOUR + 1), true);
      assert.equal(await store.isRevoked(revoked, now + 3 * HOUR), false);
    });

    test('concurrent revokes of one id keep the latest `until`', async (store, now) => {
      const revoked = subject();
      await Promise.all(
        [5, 1, 4, 2, 3].map((hours) => store.revoke(revoked.id, now + hours * HOUR, now)),
      );
      assert.equal(await store.isRevoked(revoked, now + 5 * HOUR - 1), true);
    });

    test('a revocation whose `until` has passed refuses nothing', async (store, now) => {
      const revoked = subject();
      await store.revoke(revoked.id, now - 1, now);
      assert.equal(await store.isRevoked(revoked, now), false);
    });

    test('a revocation expires in real time (default clock)', async (store) => {
      const revoked = subject();
      await store.revoke(revoked.id, Date.now() + shortTtl);
      assert.equal(await store.isRevoked(revoked), true);
      await new Promise((resolve) => setTimeout(resolve, shortTtl * 2));
      assert.equal(await store.isRevoked(revoked), false);
    });

    test("revokeUser refuses the user's sessions created before notBefore, and only those", async (store, now) => {
      const userId = newUserId();
      await store.revokeUser(userId, now, now + HOUR, now);
      assert.equal(await store.isRevoked(subject({ userId, createdAt: now - 1 }), now), true);
      assert.equal(await store.isRevoked(subject({ userId, createdAt: now }), now), false);
      assert.equal(await store.isRevoked(subject({ userId, createdAt: now + 1 }), now), false);
      const other = subject({ userId: newUserId(), createdAt: now - 1 });
      assert.equal(await store.isRevoked(other, now), false);
      assert.equal(await store.isRevoked(subject({ createdAt: now - 1 }), now), false);
      // It ends at `until`.
      const old = subject({ userId, createdAt: now - 1 });
      assert.equal(await store.isRevoked(old, now + HOUR - 1), true);
      assert.equal(await store.isRevoked(old, now + HOUR), false);
    });

    test('revokeUser keeps the latest notBefore and `until` it was given', async (store, now) => {
      const userId = newUserId();
      await store.revokeUser(userId, now, now + 2 * HOUR, now);
      await store.revokeUser(userId, now - 60_000, now + HOUR, now);
      const between = subject({ userId, createdAt: now - 30_000 });
      assert.equal(await store.isRevoked(between, now + HOUR + 1), true);
      await store.revokeUser(userId, now + 60_000, now + 3 * HOUR, now);
      const later = subject({ userId, createdAt: now + 30_000 });
      assert.equal(await store.isRevoked(later, now + 2 * HOUR + 1), true);
    });

    test('odd ids and user ids (unicode, very long, separators, __proto__) stay distinct', async (store, now) => {
      const odd = ['__proto__', 'constructor', 'a:b', '{x}', 'żółć 🍪', 'x'.repeat(2_000), ''];
      for (const raw of odd) {
        const id = `${raw}-${randomUUID()}`;
        await store.revoke(id, now + HOUR, now);
        assert.equal(await store.isRevoked(subject({ id }), now), true, `id ${raw.slice(0, 20)}`);
        const userId = `${raw}-${randomUUID()}`;
        await store.revokeUser(userId, now, now + HOUR, now);
        assert.equal(await store.isRevoked(subject({ userId, createdAt: now - 1 }), now), true);
      }
      assert.equal(await store.isRevoked(subject({ id: '__proto__' }), now), false);
    });

    test(`a flood of ${floodSize} revocations never evicts an unexpired one`, async (store, now) => {
      const victim = subject({ userId: newUserId(), createdAt: now - 60_000 });
      await store.revoke(victim.id, now + HOUR, now);
      for (let sent = 0; sent < floodSize; sent += BATCH) {
        const batch = Math.min(BATCH, floodSize - sent);
        await Promise.all(
          Array.from({ length: batch }, () => store.revoke(newId(), now + HOUR, now)),
        );
      }
      assert.equal(await store.isRevoked(victim, now), true);
      // Failing closed must not refuse sessions created after the flood for good.
      const later = subject({ userId: victim.userId, createdAt: now + 60_000 });
      assert.equal(await store.isRevoked(later, now + 60_000), false);
    });

    test(`a flood of ${floodSize} user revocations never evicts an unexpired one`, async (store, now) => {
      const userId = newUserId();
      await store.revokeUser(userId, now, now + HOUR, now);
      for (let sent = 0; sent < floodSize; sent += BATCH) {
        const batch = Math.min(BATCH, floodSize - sent);
        await Promise.all(
          Array.from({ length: batch }, () => store.revokeUser(newUserId(), now, now + HOUR, now)),
        );
      }
      assert.equal(await store.isRevoked(subject({ userId, createdAt: now - 1 }), now), true);
    });
  });
}

function globalRunner(): ConformanceRunner {
  const scope = globalThis as { describe?: unknown; it?: unknown };
  if (typeof scope.describe !== 'function' || typeof scope.it !== 'function') {
    throw new Error(
      'runRevocationStoreConformance found no global describe/it: pass your runner, e.g. runner: { describe, it }',
    );
  }
  return { describe: scope.describe, it: scope.it } as ConformanceRunner;
}

function newId(): string {
  return `revocation-${randomUUID()}`;
}

function newUserId(): string {
  return `user-${randomUUID()}`;
}

function subject(fields: Partial<RevocationSubject> = {}): RevocationSubject {
  return { id: newId(), userId: null, createdAt: Date.now() - 1_000, ...fields };
}
