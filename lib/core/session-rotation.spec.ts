import { afterEach, describe, expect, it } from '@jest/globals';
import type { SessionEvent } from '../events/session-event.js';
import type { SessionModuleOptions } from '../interfaces/session-module-options.interface.js';
import type { SessionTombstone } from '../interfaces/session-store.interface.js';
import { resolveSessionOptions } from '../options/resolve-session-options.js';
import { MemoryStore } from '../stores/memory-session.store.js';
import { HeadersExchange } from './headers.exchange.js';
import type { SessionExchange } from './session-exchange.js';
import { SessionContents } from './session-contents.js';
import { carryChanges } from './session-rotation.js';
import { SessionRuntime } from './session-runtime.js';
import { SessionState } from './session-state.js';
import { SessionValues } from './session-values.js';
import { SessionTheftDetectedError } from './session.errors.js';

const SECRET = 'tX9#kQ2!vL7@pR4$wZ8%nB3^mC6&hJ1*';
const T0 = Date.UTC(2026, 0, 1);
const EVERY = 60_000;
const GRACE = 10_000;

/** Headers in, cookies out, commit on demand. */
class FakeExchange implements SessionExchange {
  readonly respondable = true;
  readonly cookies = new Map<string, string>();

  constructor(private readonly request: Record<string, string> = {}) {}

  header(name: string): string | undefined {
    return this.request[name];
  }
  setCookie(name: string, setCookie: string): void {
    this.cookies.set(name, setCookie);
  }
  setHeader(): void {}
  commitBeforeSend(): void {}
  /** `name=value` of the session cookie this response set ('' when none or cleared). */
  cookieHeader(): string {
    const setCookie = this.cookies.get('__Host-sid') ?? '';
    return setCookie.slice(0, setCookie.indexOf(';'));
  }
}

const stores: MemoryStore[] = [];
afterEach(async () => {
  await Promise.all(stores.splice(0).map((store) => store.close()));
});

function runtimeWith(options: Partial<SessionModuleOptions> = {}) {
  const clock = { now: T0 };
  const store = new MemoryStore({ now: () => clock.now });
  stores.push(store);
  const resolved = resolveSessionOptions({
    secret: SECRET,
    rotateEvery: EVERY,
    rotationGrace: GRACE,
    encryptAtRest: true,
    ...options,
  });
  const runtime = new SessionRuntime(resolved, store, () => clock.now);
  const events: SessionEvent[] = [];
  runtime.events.subscribe((event) => {
    events.push(event);
  });
  return { runtime, store, clock, events };
}

async function request(
  runtime: SessionRuntime,
  cookie: string | null,
  handler: (state: SessionState) => Promise<void> | void = () => undefined,
  exchange: SessionExchange = new FakeExchange(cookie === null ? {} : { cookie }),
) {
  const state = new SessionState(runtime, exchange);
  await state.load();
  await handler(state);
  await state.commit();
  return { exchange: exchange as FakeExchange, state };
}

async function signedIn(runtime: SessionRuntime) {
  const { exchange, state } = await request(runtime, null, (session) =>
    session.login('alice', { roles: ['user'] }),
  );
  return { cookie: exchange.cookieHeader(), id: state.id };
}

describe('token rotation in the core (no server)', () => {
  it('rotates a signed-in session once its token is rotateEvery old: same record, new id, data sealed anew', async () => {
    const { runtime, store, clock, events } = runtimeWith();
    const { cookie, id } = await signedIn(runtime);
    clock.now += EVERY - 1;
    expect((await request(runtime, cookie)).exchange.cookies.size).toBe(0);
    clock.now += 1;
    const { exchange } = await request(runtime, cookie);
    const next = exchange.cookieHeader();
    expect(next).not.toBe(cookie);
    const { state } = await request(runtime, next, (session) => {
      expect(session.get('roles')).toEqual(['user']);
    });
    const record = await store.get(state.id);
    expect(record).toMatchObject({ userId: 'alice', createdAt: T0, rotatedAt: T0 + EVERY });
    expect(record?.authenticatedAt).toBe(T0);
    expect(await store.get(id)).toBeNull();
    const tombstone = await store.getTombstone(id);
    expect(tombstone).toMatchObject({ successorId: state.id, graceEndsAt: T0 + EVERY + GRACE });
    expect(tombstone?.successor).not.toContain(next.split('=')[1].split('.')[0]);
    expect(events).toContainEqual(
      expect.objectContaining({ type: 'regenerated', cause: 'rotation', previousSessionId: id }),
    );
  });

  it('never rotates an anonymous session, nor on an exchange that cannot set a cookie', async () => {
    const { runtime, store, clock } = runtimeWith();
    const anonymous = await request(runtime, null, (session) => session.set('theme', 'dark'));
    const { cookie, id } = await signedIn(runtime);
    clock.now += EVERY * 2;
    expect((await request(runtime, anonymous.exchange.cookieHeader())).exchange.cookies.size).toBe(
      0,
    );
    const socket = new HeadersExchange({ cookie });
    await request(runtime, null, (session) => session.set('theme', 'light'), socket);
    expect((await store.get(id))?.userId).toBe('alice');
    expect(store.tombstoneCount).toBe(0);
  });

  it('in the grace window the old token opens the successor and is handed its token; after it, theft', async () => {
    const { runtime, store, clock, events } = runtimeWith();
    const { cookie, id } = await signedIn(runtime);
    clock.now += EVERY;
    const next = (await request(runtime, cookie)).exchange.cookieHeader();
    clock.now += GRACE - 1;
    const inGrace = await request(runtime, cookie, (session) =>
      session.set('tab' as never, 2 as never),
    );
    expect(inGrace.exchange.cookieHeader()).toBe(next);
    expect(inGrace.state.get('tab' as never)).toBe(2);
    const successorId = inGrace.state.id;
    expect(successorId).not.toBe(id);
    clock.now += 1;
    const replay = new SessionState(runtime, new FakeExchange({ cookie }));
    await expect(replay.load()).rejects.toBeInstanceOf(SessionTheftDetectedError);
    await replay.commit().catch(() => undefined);
    const cleared = (replay as unknown as { exchange: FakeExchange }).exchange;
    expect(cleared.cookies.get('__Host-sid')).toMatch(/^__Host-sid=;/);
    expect(await store.get(successorId)).toBeNull();
    expect(events).toContainEqual(
      expect.objectContaining({
        type: 'revoked',
        reason: 'theft-detected',
        userId: 'alice',
        sessionIds: [successorId],
        count: 1,
      }),
    );
    const { state } = await request(runtime, next);
    expect(state.isAuthenticated).toBe(false);
  });

  it('two requests that rotate the same token together make one successor and keep both changes', async () => {
    const { runtime, store, clock, events } = runtimeWith();
    const { cookie } = await signedIn(runtime);
    clock.now += EVERY;
    const states = [0, 1].map(() => new SessionState(runtime, new FakeExchange({ cookie })));
    await Promise.all(states.map((state) => state.load()));
    states[0].set('a' as never, 1 as never);
    states[1].set('b' as never, 2 as never);
    await Promise.all(states.map((state) => state.commit()));
    const cookies = states.map((state) =>
      (state as unknown as { exchange: FakeExchange }).exchange.cookieHeader(),
    );
    expect(cookies[0]).toBe(cookies[1]);
    const listed = await store.listByUser('alice');
    expect(listed).toHaveLength(1);
    const { state } = await request(runtime, cookies[0]);
    expect(state.data).toMatchObject({ a: 1, b: 2, roles: ['user'] });
    expect(events.filter((event) => event.type === 'regenerated')).toHaveLength(1);
  });

  it('a tombstone whose successor names another session is not followed (a store writer cannot redirect)', async () => {
    const { runtime, store, clock } = runtimeWith();
    const { cookie, id } = await signedIn(runtime);
    const victim = await signedIn(runtime);
    clock.now += EVERY;
    await request(runtime, cookie);
    const tombstones = (
      store as unknown as {
        tombstones: { add(id: string, tombstone: SessionTombstone, keepUntil: number): void };
      }
    ).tombstones;
    const original = await store.getTombstone(id);
    tombstones.add(
      id,
      { ...(original as SessionTombstone), successorId: victim.id },
      T0 + 3_600_000,
    );
    const { state } = await request(runtime, cookie);
    expect(state.isAuthenticated).toBe(false);
    expect(await store.get(victim.id)).not.toBeNull();
  });

  it('carryChanges re-seals changed values for the new token and repeats deletions', () => {
    const { runtime } = runtimeWith();
    const keys = runtime.options.keys.data;
    const record = (id: string, data: Record<string, string>) => ({
      id,
      userId: 'alice',
      data,
      createdAt: T0,
      lastSeenAt: T0,
      authenticatedAt: T0,
      expiresAt: T0 + 60_000,
      absoluteExpiresAt: T0 + 3_600_000,
      userAgent: null,
    });
    const fromValues = new SessionValues(keys, 'old-token');
    const from = new SessionContents(
      record('old', { gone: fromValues.stored('old', 'gone', '1') }),
      fromValues,
      16_384,
    );
    from.set('kept', { n: 1 });
    from.delete('gone');
    const toValues = new SessionValues(keys, 'new-token');
    const to = new SessionContents(
      record('new', {
        gone: toValues.stored('new', 'gone', '1'),
        other: toValues.stored('new', 'other', '3'),
      }),
      toValues,
      16_384,
    );
    carryChanges(from, to);
    expect(to.snapshot()).toEqual({ kept: { n: 1 }, other: 3 });
    expect([...to.changes.keys()].sort()).toEqual(['gone', 'kept']);
  });
});
