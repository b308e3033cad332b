import { afterEach, describe, expect, it, jest } from '@jest/globals';
import type { SessionModuleOptions } from '../interfaces/session-module-options.interface.js';
import { resolveSessionOptions } from '../options/resolve-session-options.js';
import { MemoryStore } from '../stores/memory-session.store.js';
import { HeadersExchange } from './headers.exchange.js';
import type { SessionExchange } from './session-exchange.js';
import { SessionRuntime } from './session-runtime.js';
import { SessionState } from './session-state.js';
import { SessionRevokedError } from './session.errors.js';

const SECRET = 'tX9#kQ2!vL7@pR4$wZ8%nB3^mC6&hJ1*';
const T0 = Date.UTC(2026, 0, 1);

/** An exchange with no platform behind it: headers in, headers out, commit on demand. */
class FakeExchange implements SessionExchange {
  readonly respondable = true;
  readonly cookies = new Map<string, string>();
  readonly headers = new Map<string, string>();
  commits = 0;

  constructor(private readonly request: Record<string, string> = {}) {}

  header(name: string): string | undefined {
    return this.request[name];
  }
  setCookie(name: string, setCookie: string): void {
    this.cookies.set(name, setCookie);
  }
  setHeader(name: string, value: string): void {
    this.headers.set(name, value);
  }
  commitBeforeSend(): void {
    this.commits++;
  }
  /** `name=value` of the session cookie this response set, for the next request. */
  cookieHeader(): string {
    const setCookie = this.cookies.get('__Host-sid') ?? '';
    return setCookie.slice(0, setCookie.indexOf(';'));
  }
}

const stores: MemoryStore[] = [];
afterEach(async () => {
  await Promise.all(stores.splice(0).map((store) => store.close()));
});

function runtimeWith(options: Partial<SessionModuleOptions> = {}, clock = { now: T0 }) {
  const store = new MemoryStore({ now: () => clock.now });
  stores.push(store);
  const resolved = resolveSessionOptions({ secret: SECRET, ...options });
  return { runtime: new SessionRuntime(resolved, store, () => clock.now), store, clock };
}

/** One request through the core: bind, run `handler`, commit; returns the exchange. */
async function request(
  runtime: SessionRuntime,
  headers: Record<string, string>,
  handler: (state: SessionState) => Promise<void> | void,
): Promise<FakeExchange> {
  const exchange = new FakeExchange(headers);
  const state = new SessionState(runtime, exchange);
  await state.load();
  await handler(state);
  await state.commit();
  return exchange;
}

describe('SessionState (no server)', () => {
  it('does nothing at all for a request that never touches its session', async () => {
    const { runtime, store } = runtimeWith();
    const exchange = new FakeExchange();
    const state = new SessionState(runtime, exchange);
    await state.commit();
    expect(state.isTouched).toBe(false);
    expect(exchange.commits).toBe(0);
    expect(exchange.cookies.size).toBe(0);
    expect(store.size).toBe(0);
  });

  it('asks the adapter once to commit before sending, on first use', async () => {
    const { runtime } = runtimeWith();
    const exchange = new FakeExchange();
    const state = new SessionState(runtime, exchange);
    await Promise.all([state.load(), state.load()]);
    expect(exchange.commits).toBe(1);
  });

  it('logs in under a new id, persists, and reads back through the cookie carrier', async () => {
    const { runtime, store } = runtimeWith();
    let id = '';
    const first = await request(runtime, {}, async (state) => {
      await state.login('alice', { roles: ['user'] });
      id = state.id;
    });
    expect(first.cookies.get('__Host-sid')).toMatch(/; Path=\/; HttpOnly; Secure; SameSite=Lax$/);
    expect((await store.get(id))?.userId).toBe('alice');
    await request(runtime, { cookie: first.cookieHeader() }, (state) => {
      expect(state.userId).toBe('alice');
      expect(state.get('roles')).toEqual(['user']);
      expect(state.id).toBe(id);
    });
  });

  it('writes one delta for a change, and nothing for a read within touchAfter', async () => {
    const { runtime, store, clock } = runtimeWith();
    const login = await request(runtime, {}, (state) => state.login('bob'));
    const cookie = login.cookieHeader();
    const update = jestSpy(store, 'update');
    const touch = jestSpy(store, 'touch');
    await request(runtime, { cookie }, (state) => state.set('theme', 'dark'));
    expect(update.calls).toBe(1);
    clock.now += 1_000;
    const read = await request(runtime, { cookie }, (state) => {
      expect(state.get('theme')).toBe('dark');
    });
    expect(update.calls).toBe(1);
    expect(touch.calls).toBe(0);
    expect(read.cookies.size).toBe(0);
  });

  it('refuses a forged cookie: no session, the cookie cleared, the store untouched', async () => {
    const { runtime, store } = runtimeWith();
    const get = jestSpy(store, 'get');
    const exchange = await request(runtime, { cookie: '__Host-sid=forged.value' }, (state) => {
      expect(state.userId).toBeNull();
    });
    expect(get.calls).toBe(0);
    expect(exchange.cookies.get('__Host-sid')).toMatch(/^__Host-sid=; Max-Age=0/);
  });

  it('expires a session on the server after the idle timeout', async () => {
    const { runtime, clock } = runtimeWith({ idleTimeout: '10m' });
    const cookie = (await request(runtime, {}, (state) => state.login('carol'))).cookieHeader();
    clock.now += 10 * 60_000;
    await request(runtime, { cookie }, (state) => expect(state.userId).toBeNull());
  });

  it('regenerate() moves the data to a new id and ends the old one at commit', async () => {
    const { runtime, store } = runtimeWith();
    const login = await request(runtime, {}, (state) => state.login('dave', { theme: 'x' }));
    let oldId = '';
    let newId = '';
    await request(runtime, { cookie: login.cookieHeader() }, async (state) => {
      oldId = state.id;
      await state.regenerate();
      newId = state.id;
    });
    expect(newId).not.toBe(oldId);
    expect(await store.get(oldId)).toBeNull();
    expect((await store.get(newId))?.userId).toBe('dave');
  });

  describe('a session that ends while the request is in flight', () => {
    /** Loads the session `cookie` names, runs `handler`, ends the session, then commits. */
    async function endedMidRequest(
      runtime: SessionRuntime,
      store: MemoryStore,
      cookie: string,
      handler: (state: SessionState) => Promise<void> | void,
    ): Promise<{ exchange: FakeExchange; commit: Promise<void>; state: SessionState }> {
      const exchange = new FakeExchange({ cookie });
      const state = new SessionState(runtime, exchange);
      await state.load();
      const userId = state.userId as string;
      await handler(state);
      await store.destroyByUser(userId); // revoke-all from another device
      const commit = state.commit();
      commit.catch(() => undefined);
      return { exchange, commit, state };
    }

    it.each<[string, (state: SessionState) => Promise<void> | void]>([
      ['regenerate()', (state) => state.regenerate()],
      ['login() again (step-up)', (state) => state.login('judy')],
      ['a change', (state) => state.set('theme', 'dark')],
    ])(
      '%s saves nothing: SessionRevokedError (401), no new session, the cookie cleared',
      async (_label, handler) => {
        const { runtime, store, clock } = runtimeWith();
        const cookie = (await request(runtime, {}, (state) => state.login('judy'))).cookieHeader();
        clock.now += 2 * 60_000; // past touchAfter: even a read would write
        const { exchange, commit, state } = await endedMidRequest(runtime, store, cookie, handler);
        await expect(commit).rejects.toBeInstanceOf(SessionRevokedError);
        await expect(commit).rejects.toMatchObject({ status: 401 });
        expect(store.size).toBe(0);
        expect(await store.listByUser('judy')).toEqual([]);
        expect(exchange.cookies.get('__Host-sid')).toMatch(/^__Host-sid=; Max-Age=0/);
        expect(state.bearerToken).toBeNull();
      },
    );

    it('a read past touchAfter (a touch) is refused the same way', async () => {
      const { runtime, store, clock } = runtimeWith();
      const cookie = (await request(runtime, {}, (state) => state.login('kim'))).cookieHeader();
      clock.now += 2 * 60_000;
      const { commit } = await endedMidRequest(runtime, store, cookie, (state) => {
        expect(state.userId).toBe('kim');
      });
      await expect(commit).rejects.toBeInstanceOf(SessionRevokedError);
      expect(store.size).toBe(0);
    });

    it('a move is one store call that names the session it replaces', async () => {
      const { runtime, store } = runtimeWith();
      const cookie = (await request(runtime, {}, (state) => state.login('lee'))).cookieHeader();
      const set = jest.spyOn(store, 'set');
      const destroy = jest.spyOn(store, 'destroy');
      let oldId = '';
      await request(runtime, { cookie }, async (state) => {
        oldId = state.id;
        await state.regenerate();
      });
      expect(set).toHaveBeenCalledTimes(1);
      expect(set.mock.calls[0][2]).toMatchObject({ replaces: oldId });
      expect(destroy).not.toHaveBeenCalled();
    });

    it('a store that does not declare supportsReplaces keeps the older sequence: set, then destroy', async () => {
      const { runtime, store } = runtimeWith();
      const cookie = (await request(runtime, {}, (state) => state.login('max'))).cookieHeader();
      Object.defineProperty(store, 'supportsReplaces', { value: undefined });
      const set = jest.spyOn(store, 'set');
      const destroy = jest.spyOn(store, 'destroy');
      let oldId = '';
      await request(runtime, { cookie }, async (state) => {
        oldId = state.id;
        await state.regenerate();
      });
      expect(set.mock.calls[0][2]).not.toHaveProperty('replaces');
      expect(destroy).toHaveBeenCalledWith(oldId);
      expect(await store.get(oldId)).toBeNull();
    });
  });

  it('destroy() ends the session in the store and clears the cookie', async () => {
    const { runtime, store } = runtimeWith();
    const login = await request(runtime, {}, (state) => state.login('erin'));
    let id = '';
    const logout = await request(runtime, { cookie: login.cookieHeader() }, async (state) => {
      id = state.id;
      await state.destroy();
    });
    expect(await store.get(id)).toBeNull();
    expect(logout.cookies.get('__Host-sid')).toMatch(/Max-Age=0/);
  });

  it('takes the bearer carrier when the request has an Authorization header', async () => {
    const { runtime } = runtimeWith({ transport: ['cookie', 'header'] });
    let token: string | null = null;
    await request(runtime, {}, async (state) => {
      await state.login('frank', {}, { transport: 'header' });
      token = state.bearerToken;
    });
    expect(token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    const exchange = await request(runtime, { authorization: `Bearer ${token}` }, (state) => {
      expect(state.usesHeaderTransport()).toBe(true);
      expect(state.userId).toBe('frank');
    });
    expect(exchange.cookies.size).toBe(0);
  });

  it('stateless persistence seals the whole record in the cookie and keeps nothing in the store', async () => {
    const { runtime, store } = runtimeWith({ store: 'cookie' });
    const login = await request(runtime, {}, (state) => state.login('gina', { theme: 'y' }));
    expect(store.size).toBe(0);
    await request(runtime, { cookie: login.cookieHeader() }, (state) => {
      expect(state.userId).toBe('gina');
      expect(state.get('theme')).toBe('y');
    });
  });

  it('takes a numeric user id (a database key) and keeps it as its decimal string', async () => {
    const { runtime, store } = runtimeWith();
    let id = '';
    await request(runtime, {}, async (state) => {
      await state.login(42);
      id = state.id;
      expect(state.userId).toBe('42');
    });
    expect((await store.get(id))?.userId).toBe('42');
    for (const bad of [4.2, Number.NaN, 2 ** 60, '']) {
      const state = new SessionState(runtime, new FakeExchange());
      await expect(state.login(bad as number)).rejects.toThrow(TypeError);
    }
  });

  it('a headers-only exchange reads the session but cannot hand out a cookie', async () => {
    const { runtime } = runtimeWith();
    const cookie = (await request(runtime, {}, (state) => state.login('hank'))).cookieHeader();
    const state = new SessionState(runtime, new HeadersExchange({ Cookie: cookie }));
    await state.load();
    expect(state.userId).toBe('hank');
    await expect(state.login('ivan')).rejects.toThrow(/no HTTP response/);
  });
});

/** Counts calls of a store method, still calling it. */
function jestSpy(store: MemoryStore, method: 'get' | 'update' | 'touch'): { calls: number } {
  const counter = { calls: 0 };
  const original = store[method].bind(store) as (...args: unknown[]) => unknown;
  (store as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => {
    counter.calls++;
    return original(...args);
  };
  return counter;
}
