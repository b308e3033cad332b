import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import {
  SessionDataTooLargeError,
  SessionLimitExceededError,
  SessionRevokedError,
} from '../core/session.errors.js';
import { SessionStore, type SessionRecord } from '../interfaces/session-store.interface.js';
import { SessionModule } from '../session.module.js';
import { MemoryStore } from './memory-session.store.js';

const T0 = Date.UTC(2026, 0, 1);
const MINUTE = 60_000;

class Clock {
  current = T0;
  readonly now = () => this.current;
}

function record(id: string, overrides: Partial<SessionRecord> = {}): SessionRecord {
  return {
    id,
    userId: null,
    data: {},
    createdAt: T0,
    lastSeenAt: T0,
    authenticatedAt: null,
    expiresAt: T0 + 30 * MINUTE,
    absoluteExpiresAt: T0 + 12 * 60 * MINUTE,
    userAgent: null,
    ...overrides,
  };
}

const stores: MemoryStore[] = [];
/** A store typed as both itself and the contract, so calls go through the contract's signatures. */
function newStore(options: ConstructorParameters<typeof MemoryStore>[0] = {}): {
  store: MemoryStore & SessionStore;
  clock: Clock;
} {
  const clock = new Clock();
  const store: MemoryStore & SessionStore = new MemoryStore({ now: clock.now, ...options });
  stores.push(store);
  return { store, clock };
}

afterEach(() => {
  stores.splice(0).forEach((store) => store.close());
  jest.restoreAllMocks();
});

describe('MemoryStore', () => {
  describe('get / set', () => {
    it('returns null for an unknown id', async () => {
      const { store } = newStore();
      expect(await store.get('nope')).toBeNull();
    });

    it('returns what was set', async () => {
      const { store } = newStore();
      const stored = record('a', { userId: 'u', data: { cart: '["x"]' } });
      await store.set(stored, 30 * MINUTE);
      expect(await store.get('a')).toEqual(stored);
      expect(store.size).toBe(1);
    });

    it('keeps copies: the caller cannot change stored state by reference', async () => {
      const { store } = newStore();
      const original = record('a', { data: { cart: '["x"]' } });
      await store.set(original, 30 * MINUTE);
      original.data.cart = '["changed"]';
      original.userId = 'mallory';

      const first = await store.get('a');
      if (first === null) {
        throw new Error('stored record missing');
      }
      first.data.cart = '["changed again"]';
      first.data.extra = '1';
      first.expiresAt = Number.MAX_SAFE_INTEGER;

      expect(await store.get('a')).toEqual(record('a', { data: { cart: '["x"]' } }));
    });

    it('replaces a whole record and moves its user index', async () => {
      const { store } = newStore();
      await store.set(record('a', { userId: 'u1' }), MINUTE);
      await store.set(record('a', { userId: 'u2' }), MINUTE);
      expect(await store.listByUser('u1')).toEqual([]);
      expect((await store.listByUser('u2')).map((r) => r.id)).toEqual(['a']);
      expect(store.size).toBe(1);
    });
  });

  describe('expiry', () => {
    it('treats a session as gone at its expiresAt, and deletes it when read', async () => {
      const { store, clock } = newStore();
      await store.set(record('a', { userId: 'u', expiresAt: T0 + MINUTE }), MINUTE);
      clock.current = T0 + MINUTE - 1;
      expect(await store.get('a')).not.toBeNull();
      clock.current = T0 + MINUTE;
      expect(await store.get('a')).toBeNull();
      expect(store.size).toBe(0);
      expect(await store.listByUser('u')).toEqual([]);
    });

    it('sweeps expired sessions from the least recently used end and stops at the first live one', async () => {
      const { store, clock } = newStore();
      await store.set(record('old1', { expiresAt: T0 + MINUTE }), MINUTE);
      await store.set(record('old2', { expiresAt: T0 + MINUTE }), MINUTE);
      await store.set(record('live', { expiresAt: T0 + 10 * MINUTE }), 10 * MINUTE);
      await store.set(record('old3', { expiresAt: T0 + MINUTE }), MINUTE);
      clock.current = T0 + 2 * MINUTE;

      store.sweepExpired();

      expect(store.size).toBe(2);
      expect(await store.get('live')).not.toBeNull();
      // Behind the live one: not swept, but never returned.
      expect(await store.get('old3')).toBeNull();
      expect(store.size).toBe(1);
    });

    it('sweeps on a timer that does not keep the process alive and stops on close', async () => {
      const setIntervalSpy = jest.spyOn(globalThis, 'setInterval');
      const clearIntervalSpy = jest.spyOn(globalThis, 'clearInterval');
      const store = new MemoryStore({ sweepIntervalMs: 5_000 });
      try {
        expect(setIntervalSpy).toHaveBeenCalledTimes(1);
        expect(setIntervalSpy.mock.calls[0][1]).toBe(5_000);
        const timer = setIntervalSpy.mock.results[0].value as NodeJS.Timeout;
        expect(timer.hasRef()).toBe(false);

        const sweep = jest.spyOn(store, 'sweepExpired');
        (setIntervalSpy.mock.calls[0][0] as () => void)();
        expect(sweep).toHaveBeenCalledTimes(1);
      } finally {
        store.close();
      }
      expect(clearIntervalSpy).toHaveBeenCalledWith(
        setIntervalSpy.mock.results[0].value as NodeJS.Timeout,
      );
    });

    it('is closed by SessionModule when the application shuts down', async () => {
      @Module({ imports: [SessionModule.forRoot({ secret: 'tX9#kQ2!vL7@pR4$wZ8%nB3^mC6&hJ1*' })] })
      class AppModule {}
      const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
      const app = moduleRef.createNestApplication({ logger: false });
      await app.init();
      const store = app.get<SessionStore>(SessionStore);
      expect(store).toBeInstanceOf(MemoryStore);
      const close = jest.spyOn(store as MemoryStore, 'close');
      await app.close();
      expect(close).toHaveBeenCalledTimes(1);
    });
  });

  describe('bounded size', () => {
    it('evicts the least recently used session beyond maxSessions', async () => {
      const { store } = newStore({ maxSessions: 3 });
      await store.set(record('a', { userId: 'u' }), MINUTE);
      await store.set(record('b', { userId: 'v' }), MINUTE);
      await store.set(record('c', { userId: 'w' }), MINUTE);
      await store.get('a'); // a is now the most recently used

      await store.set(record('d', { userId: 'x' }), MINUTE);

      expect(store.size).toBe(3);
      expect(await store.get('b')).toBeNull();
      expect(await store.get('a')).not.toBeNull();
      expect(await store.get('c')).not.toBeNull();
      expect(await store.get('d')).not.toBeNull();
    });

    it('drops the user index entry of an evicted session', async () => {
      const { store } = newStore({ maxSessions: 1 });
      await store.set(record('a', { userId: 'u' }), MINUTE);
      await store.set(record('b', { userId: 'v' }), MINUTE);
      expect(await store.listByUser('u')).toEqual([]);
      expect(await store.destroyByUser('u')).toBe(0);
    });

    it('anonymous sessions have a budget of their own: they never evict authenticated ones', async () => {
      const { store } = newStore({ maxSessions: 10 });
      for (let i = 0; i < 10; i++) {
        await store.set(record(`user-${i}`, { userId: `u${i}` }), MINUTE);
      }
      // An anonymous flood (each one costs an attacker a request) …
      for (let i = 0; i < 1_000; i++) {
        await store.set(record(`anon-${i}`), MINUTE);
      }
      // … evicts only anonymous sessions: every signed-in user keeps theirs.
      for (let i = 0; i < 10; i++) {
        expect(await store.get(`user-${i}`)).not.toBeNull();
      }
      expect(await store.get('anon-0')).toBeNull();
      expect(await store.get('anon-999')).not.toBeNull();
      expect(store.size).toBe(20);
    });

    it('maxAnonymousSessions sizes the anonymous budget', async () => {
      const { store } = newStore({ maxSessions: 5, maxAnonymousSessions: 2 });
      for (const id of ['a1', 'a2', 'a3']) {
        await store.set(record(id), MINUTE);
      }
      await store.set(record('u1', { userId: 'u' }), MINUTE);
      expect(await store.get('a1')).toBeNull();
      expect(await store.get('a3')).not.toBeNull();
      expect(await store.get('u1')).not.toBeNull();
      expect(store.size).toBe(3);
    });
  });

  describe('update', () => {
    it('applies a delta and the touch, leaving other keys alone', async () => {
      const { store } = newStore();
      await store.set(record('a', { data: { keep: '1', change: '2', drop: '3' } }), MINUTE);

      await store.update(
        'a',
        { set: { change: '20', add: '4' }, deleted: ['drop'] },
        { lastSeenAt: T0 + MINUTE, expiresAt: T0 + 31 * MINUTE },
        30 * MINUTE,
      );

      expect(await store.get('a')).toEqual(
        record('a', {
          data: { keep: '1', change: '20', add: '4' },
          lastSeenAt: T0 + MINUTE,
          expiresAt: T0 + 31 * MINUTE,
        }),
      );
    });

    it('rejects with SessionRevokedError, creating nothing, for an unknown (or revoked) id', async () => {
      const { store } = newStore();
      await store.set(record('a'), MINUTE);
      await store.destroy('a');
      await expect(
        store.update(
          'a',
          { set: { x: '1' }, deleted: [] },
          { lastSeenAt: T0, expiresAt: T0 + MINUTE },
          MINUTE,
        ),
      ).rejects.toBeInstanceOf(SessionRevokedError);
      expect(await store.get('a')).toBeNull();
      expect(store.size).toBe(0);
    });

    it('rejects with SessionDataTooLargeError past maxDataSize, counting what is stored', async () => {
      const { store } = newStore();
      await store.set(record('a', { data: { first: 'x'.repeat(600) } }), MINUTE);
      const touch = { lastSeenAt: T0, expiresAt: T0 + MINUTE };
      const limit = { maxDataSize: 1024 };
      // On its own this delta fits (6 + 600 bytes); with what is stored it does not.
      await expect(
        store.update('a', { set: { second: 'y'.repeat(600) }, deleted: [] }, touch, MINUTE, limit),
      ).rejects.toBeInstanceOf(SessionDataTooLargeError);
      expect(Object.keys((await store.get('a'))?.data ?? {})).toEqual(['first']);
      // Replacing or deleting keys is measured after the delta.
      await store.update(
        'a',
        { set: { second: 'y'.repeat(600) }, deleted: ['first'] },
        touch,
        MINUTE,
        limit,
      );
      expect(Object.keys((await store.get('a'))?.data ?? {})).toEqual(['second']);
    });

    it('keeps no reference to the delta', async () => {
      const { store } = newStore();
      await store.set(record('a'), MINUTE);
      const delta = { set: { x: '1' }, deleted: [] };
      await store.update('a', delta, { lastSeenAt: T0, expiresAt: T0 + MINUTE }, MINUTE);
      delta.set.x = '2';
      expect((await store.get('a'))?.data).toEqual({ x: '1' });
    });
  });

  describe('touch', () => {
    it('moves lastSeenAt and expiresAt only', async () => {
      const { store } = newStore();
      await store.set(record('a', { data: { k: '1' } }), MINUTE);
      await store.touch('a', { lastSeenAt: T0 + MINUTE, expiresAt: T0 + 2 * MINUTE }, MINUTE);
      expect(await store.get('a')).toEqual(
        record('a', { data: { k: '1' }, lastSeenAt: T0 + MINUTE, expiresAt: T0 + 2 * MINUTE }),
      );
    });

    it('rejects with SessionRevokedError, creating nothing, for an unknown id', async () => {
      const { store } = newStore();
      await expect(
        store.touch('ghost', { lastSeenAt: T0, expiresAt: T0 + MINUTE }, MINUTE),
      ).rejects.toBeInstanceOf(SessionRevokedError);
      expect(await store.get('ghost')).toBeNull();
      expect(store.size).toBe(0);
    });
  });

  describe('destroy and the user index', () => {
    it('destroy removes the session and its index entry; unknown ids are ignored', async () => {
      const { store } = newStore();
      await store.set(record('a', { userId: 'u' }), MINUTE);
      await store.destroy('a');
      await store.destroy('unknown');
      expect(await store.get('a')).toBeNull();
      expect(await store.listByUser('u')).toEqual([]);
    });

    it('listByUser returns only that user’s live sessions, oldest first', async () => {
      const { store, clock } = newStore();
      await store.set(record('new', { userId: 'u', createdAt: T0 + 2 }), MINUTE);
      await store.set(record('old', { userId: 'u', createdAt: T0 }), MINUTE);
      await store.set(record('mid', { userId: 'u', createdAt: T0 + 1 }), MINUTE);
      await store.set(
        record('expiring', { userId: 'u', createdAt: T0 + 3, expiresAt: T0 + 1000 }),
        1000,
      );
      await store.set(record('other', { userId: 'v' }), MINUTE);
      await store.set(record('anon'), MINUTE);
      clock.current = T0 + 1000;

      const listed = await store.listByUser('u');

      expect(listed.map((r) => r.id)).toEqual(['old', 'mid', 'new']);
      expect(await store.get('expiring')).toBeNull();
      // Copies here too.
      listed[0].data.x = '1';
      expect((await store.get('old'))?.data).toEqual({});
    });

    it('destroyByUser removes every session of the user but the exception, and counts them', async () => {
      const { store } = newStore();
      await store.set(record('a', { userId: 'u' }), MINUTE);
      await store.set(record('b', { userId: 'u' }), MINUTE);
      await store.set(record('c', { userId: 'u' }), MINUTE);
      await store.set(record('v', { userId: 'v' }), MINUTE);

      expect(await store.destroyByUser('u', 'b')).toBe(2);

      expect((await store.listByUser('u')).map((r) => r.id)).toEqual(['b']);
      expect(await store.get('a')).toBeNull();
      expect(await store.get('v')).not.toBeNull();
      expect(await store.destroyByUser('u')).toBe(1);
      expect(await store.destroyByUser('nobody')).toBe(0);
    });
  });

  describe('per-user session limit', () => {
    it("'evict-oldest' destroys the oldest sessions to make room", async () => {
      const { store } = newStore();
      const limit = { maxSessionsPerUser: 2, limitPolicy: 'evict-oldest' as const };
      await store.set(record('1', { userId: 'u', createdAt: T0 }), MINUTE, limit);
      await store.set(record('2', { userId: 'u', createdAt: T0 + 1 }), MINUTE, limit);
      await store.set(record('3', { userId: 'u', createdAt: T0 + 2 }), MINUTE, limit);

      expect((await store.listByUser('u')).map((r) => r.id)).toEqual(['2', '3']);
      expect(await store.get('1')).toBeNull();
    });

    it("'refuse' rejects with SessionLimitExceededError and stores nothing", async () => {
      const { store } = newStore();
      const limit = { maxSessionsPerUser: 1, limitPolicy: 'refuse' as const };
      await store.set(record('1', { userId: 'u' }), MINUTE, limit);

      await expect(store.set(record('2', { userId: 'u' }), MINUTE, limit)).rejects.toBeInstanceOf(
        SessionLimitExceededError,
      );

      expect(await store.get('2')).toBeNull();
      expect((await store.listByUser('u')).map((r) => r.id)).toEqual(['1']);
    });

    it('a move (replaces) is not counted: never refused, evicts no other session', async () => {
      const { store } = newStore();
      for (const limitPolicy of ['refuse', 'evict-oldest'] as const) {
        const user = `mover-${limitPolicy}`;
        const limit = { maxSessionsPerUser: 2, limitPolicy };
        await store.set(record(`${user}-a`, { userId: user, createdAt: T0 }), MINUTE, limit);
        await store.set(record(`${user}-b`, { userId: user, createdAt: T0 + 1 }), MINUTE, limit);
        await store.set(record(`${user}-c`, { userId: user, createdAt: T0 + 1 }), MINUTE, {
          ...limit,
          replaces: `${user}-b`,
        });
        expect((await store.listByUser(user)).map((r) => r.id)).toEqual([`${user}-a`, `${user}-c`]);
        expect(await store.get(`${user}-b`)).toBeNull();
      }
    });

    it('a move from a session that is gone rejects with SessionRevokedError and stores nothing', async () => {
      const { store } = newStore();
      await store.set(record('old', { userId: 'u' }), MINUTE);
      await store.destroy('old');
      await expect(
        store.set(record('new', { userId: 'u' }), MINUTE, { replaces: 'old' }),
      ).rejects.toBeInstanceOf(SessionRevokedError);
      expect(await store.get('new')).toBeNull();
      expect(await store.listByUser('u')).toEqual([]);
    });

    it('listByUser with a limit returns the newest sessions, oldest first', async () => {
      const { store } = newStore();
      for (let i = 0; i < 5; i++) {
        await store.set(record(`s${i}`, { userId: 'u', createdAt: T0 + i }), MINUTE);
      }
      expect((await store.listByUser('u', 2)).map((r) => r.id)).toEqual(['s3', 's4']);
      expect(await store.listByUser('u', 10)).toHaveLength(5);
    });

    it('does not count expired sessions, other users or anonymous sessions', async () => {
      const { store, clock } = newStore();
      const limit = { maxSessionsPerUser: 1, limitPolicy: 'refuse' as const };
      await store.set(record('expired', { userId: 'u', expiresAt: T0 + 10 }), 10, limit);
      await store.set(record('other', { userId: 'v' }), MINUTE, limit);
      await store.set(record('anon1'), MINUTE, limit);
      await store.set(record('anon2'), MINUTE, limit);
      clock.current = T0 + 10;

      await store.set(record('fresh', { userId: 'u' }), MINUTE, limit);
      expect((await store.listByUser('u')).map((r) => r.id)).toEqual(['fresh']);
    });
  });
  describe('tombstones of rotated-out tokens', () => {
    const rotation = { graceEndsAt: T0 + 10_000, successor: 'sealed' };

    it('are bounded by maxTombstones: the oldest is forgotten, and its token then opens nothing', async () => {
      const { store } = newStore({ maxTombstones: 2 });
      let current = record('s0', { userId: 'u' });
      await store.set(current, MINUTE);
      for (let i = 1; i <= 3; i++) {
        const next = record(`s${i}`, { userId: 'u', rotatedAt: T0 });
        await store.set(next, MINUTE, { replaces: current.id, rotation });
        current = next;
      }
      expect(store.tombstoneCount).toBe(2);
      expect(await store.getTombstone('s0')).toBeNull();
      expect(await store.get('s0')).toBeNull();
      expect((await store.getTombstone('s1'))?.successorId).toBe('s2');
      expect((await store.getTombstone('s2'))?.successorId).toBe('s3');
      expect(store.size).toBe(1);
    });

    it('are swept at the absolute expiry of their session', async () => {
      const { store, clock } = newStore({ maxSessions: 3 });
      await store.set(record('a', { userId: 'u' }), MINUTE);
      await store.set(record('b', { userId: 'u' }), MINUTE, { replaces: 'a', rotation });
      expect(store.tombstoneCount).toBe(1);
      clock.current = T0 + 12 * 60 * MINUTE - 1;
      store.sweepExpired();
      expect(store.tombstoneCount).toBe(1);
      clock.current += 1;
      store.sweepExpired();
      expect(store.tombstoneCount).toBe(0);
      expect(await store.getTombstone('a')).toBeNull();
    });
  });
});
