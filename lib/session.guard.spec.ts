import { afterAll, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { Logger, UnauthorizedException, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host.js';
import { SessionRuntime } from './core/session-runtime.js';
import { resolveSessionOptions } from './options/resolve-session-options.js';
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
