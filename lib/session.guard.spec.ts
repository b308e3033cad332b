import { afterAll, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { Logger, UnauthorizedException, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host.js';
import type { SessionExchange } from './core/session-exchange.js';
import { SessionRuntime } from './core/session-runtime.js';
import { SessionState } from './core/session-state.js';
import { SessionStoreUnavailableError } from './core/session.errors.js';
import { resolveSessionOptions } from './options/resolve-session-options.js';
import { bindSession } from './platform/request-binding.js';
import { SessionGuard } from './session.guard.js';
import { MemoryStore } from './stores/memory-session.store.js';

const SECRET = 'tX9#kQ2!vL7@pR4$wZ8%nB3^mC6&hJ1*';

class Handlers {
  protected() {
    return 'secret';
  }
}

/** A context of `type` whose arguments carry no session anywhere. */
function contextOf(type: string, args: unknown[]): ExecutionContext {
  const context = new ExecutionContextHost(args, Handlers, Handlers.prototype.protected);
  context.setType(type);
  return context;
}

const CONTEXTS: [string, unknown[], RegExp][] = [
  ['http', [{ method: 'GET', headers: {} }, {}], /HTTP request has no session/],
  [
    'graphql',
    [{}, {}, {}, { operation: { operation: 'query' } }],
    /GraphQL context has no request/,
  ],
  ['ws', [{ readyState: 1 }, { event: 'me' }], /WebSocket client has no session/],
  ['rpc', [{ pattern: 'me' }, {}], /execution context 'rpc' has no session/],
];

describe('SessionGuard fails closed in every context it cannot serve', () => {
  const store = new MemoryStore();
  const runtime = new SessionRuntime(resolveSessionOptions({ secret: SECRET }), store, Date.now);
  const guard = new SessionGuard(new Reflector(), runtime);
  const error = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);

  beforeEach(() => {
    error.mockClear();
  });
  afterAll(async () => {
    error.mockRestore();
    await store.close();
  });

  it.each(CONTEXTS)(
    '%s without a session: 401, and one error log naming the fix',
    (type, args, reason) => {
      expect(() => guard.canActivate(contextOf(type, args))).toThrow(UnauthorizedException);
      expect(() => guard.canActivate(contextOf(type, args))).toThrow(UnauthorizedException);
      // Logged the first time this cause is met in the process, not on every request.
      expect(error).toHaveBeenCalledTimes(1);
      expect(String(error.mock.calls[0][0])).toMatch(reason);
    },
  );

  it('logged each cause once over the whole process', () => {
    error.mockClear();
    for (const [type, args] of CONTEXTS) {
      expect(() => guard.canActivate(contextOf(type, args))).toThrow(UnauthorizedException);
    }
    expect(error).not.toHaveBeenCalled();
  });
});

/** A request with nothing behind it but its headers, the cookie it is set, and its session. */
class BenchExchange implements SessionExchange {
  readonly respondable = true;
  setCookieHeader = '';
  constructor(private readonly headers: Record<string, string>) {}
  header(name: string): string | undefined {
    return this.headers[name];
  }
  setCookie(_name: string, setCookie: string): void {
    this.setCookieHeader = setCookie;
  }
  setHeader(): void {}
  commitBeforeSend(): void {}
}

describe('SessionGuard on a loaded session', () => {
  const store = new MemoryStore();
  const runtime = new SessionRuntime(resolveSessionOptions({ secret: SECRET }), store, Date.now);
  const guard = new SessionGuard(new Reflector(), runtime);
  afterAll(() => store.close());

  /** An HTTP context whose request presents `cookie`, with its session bound as an adapter does. */
  function requestWith(cookie: string | undefined) {
    const headers: Record<string, string> = cookie === undefined ? {} : { cookie };
    const request = { method: 'GET', headers };
    const state = new SessionState(runtime, new BenchExchange(headers));
    bindSession(request, state);
    return { state, context: contextOf('http', [request, {}]) };
  }

  async function loggedInCookie(): Promise<string> {
    const exchange = new BenchExchange({});
    const state = new SessionState(runtime, exchange);
    await state.login('alice', { roles: ['user'] });
    await state.commit();
    return exchange.setCookieHeader.slice(0, exchange.setCookieHeader.indexOf(';'));
  }

  it('decides with no promise once the session is loaded: true, or a synchronous 401', async () => {
    const cookie = await loggedInCookie();
    const live = requestWith(cookie);
    const first = guard.canActivate(live.context);
    expect(first).toBeInstanceOf(Promise);
    await expect(first).resolves.toBe(true);
    expect(guard.canActivate(live.context)).toBe(true);

    const anonymous = requestWith(undefined);
    await expect(guard.canActivate(anonymous.context)).rejects.toThrow(UnauthorizedException);
    expect(() => guard.canActivate(anonymous.context)).toThrow(UnauthorizedException);
  });

  it('a load that failed is never taken for a loaded session: 503 again, not a decision', async () => {
    const cookie = await loggedInCookie();
    const failing = requestWith(cookie);
    const get = jest.spyOn(store, 'get').mockRejectedValueOnce(new Error('connection lost'));
    await expect(failing.state.load()).rejects.toThrow(SessionStoreUnavailableError);
    get.mockRestore();
    expect(failing.state.isLoaded).toBe(true);
    expect(failing.state.isReady).toBe(false);
    await expect(guard.canActivate(failing.context)).rejects.toThrow(SessionStoreUnavailableError);
  });
});
