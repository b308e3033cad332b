import { describe, expect, it } from '@jest/globals';
import type { SessionModuleOptions } from '../interfaces/session-module-options.interface.js';
import { MemoryStore } from '../stores/memory-session.store.js';
import { resolveSessionOptions } from './resolve-session-options.js';
import { SessionOptionsError } from './session-options.error.js';

const SECRET = 'tX9#kQ2!vL7@pR4$wZ8%nB3^mC6&hJ1*';

function problemsOf(options: Partial<SessionModuleOptions>): readonly string[] {
  try {
    resolveSessionOptions({ secret: SECRET, ...options } as SessionModuleOptions);
  } catch (error) {
    expect(error).toBeInstanceOf(SessionOptionsError);
    return (error as SessionOptionsError).problems;
  }
  throw new Error(`accepted ${JSON.stringify(options)}`);
}

describe('deviceBound options', () => {
  it('are off by default', () => {
    expect(resolveSessionOptions({ secret: SECRET }).deviceBound).toBeNull();
    expect(resolveSessionOptions({ secret: SECRET, deviceBound: false }).deviceBound).toBeNull();
  });

  it('true takes the defaults; an object goes over them', () => {
    expect(resolveSessionOptions({ secret: SECRET, deviceBound: true }).deviceBound).toEqual({
      registrationPath: '/session/dbsc/register',
      refreshPath: '/session/dbsc/refresh',
      cookieName: '__Host-dbsc',
      cookieLifetimeMs: 600_000,
      challengeLifetimeMs: 300_000,
      policy: 'allow',
    });
    const resolved = resolveSessionOptions({
      secret: SECRET,
      store: new MemoryStore(),
      deviceBound: { cookieLifetime: '30s', refreshPath: '/dbsc/refresh', policy: 'require' },
    });
    expect(resolved.deviceBound).toMatchObject({
      cookieLifetimeMs: 30_000,
      refreshPath: '/dbsc/refresh',
      policy: 'require',
    });
    expect(Object.isFrozen(resolved.deviceBound)).toBe(true);
  });

  it.each<[string, Partial<SessionModuleOptions>, RegExp]>([
    ['a stateless store', { store: 'cookie', deviceBound: true }, /needs a server-side store/],
    [
      'a store without swapDeviceBinding',
      {
        store: {
          ...Object.fromEntries(
            ['get', 'set', 'update', 'touch', 'destroy', 'listByUser', 'destroyByUser'].map((m) => [
              m,
              async () => null,
            ]),
          ),
        } as never,
        deviceBound: true,
      },
      /implements swapDeviceBinding/,
    ],
    [
      'header transport only',
      { transport: ['header'], deviceBound: true },
      /add 'cookie' to transport/,
    ],
    [
      'plain HTTP cookies',
      { cookie: { secure: false, name: 'sid' }, deviceBound: true },
      /needs HTTPS/,
    ],
    [
      'a lifetime under 1s',
      { deviceBound: { cookieLifetime: 500 } },
      /cookieLifetime must be a duration of at least 1s/,
    ],
    [
      'a bad challenge lifetime',
      { deviceBound: { challengeLifetime: 'soon' } },
      /challengeLifetime must be/,
    ],
    [
      'a lifetime past idleTimeout',
      { idleTimeout: '5m', deviceBound: { cookieLifetime: '10m' } },
      /shorter than idleTimeout/,
    ],
    [
      'the session cookie name',
      { deviceBound: { cookieName: '__Host-sid' } },
      /must differ from cookie.name/,
    ],
    [
      'a bad cookie name',
      { deviceBound: { cookieName: 'a;b' } },
      /deviceBound.cookieName must be a cookie token/,
    ],
    [
      'a relative path',
      { deviceBound: { registrationPath: 'register' } },
      /deviceBound.registrationPath must be a path/,
    ],
    [
      'a path with a query',
      { deviceBound: { refreshPath: '/r?x=1' } },
      /deviceBound.refreshPath must be a path/,
    ],
    [
      'one path for both',
      { deviceBound: { registrationPath: '/x', refreshPath: '/x' } },
      /must differ/,
    ],
    ['an unknown policy', { deviceBound: { policy: 'always' as never } }, /'allow' or 'require'/],
    [
      'a typo',
      { deviceBound: { cookieLifetme: '1m' } as never },
      /did you mean 'deviceBound.cookieLifetime'/,
    ],
    [
      'not an object',
      { deviceBound: 'yes' as never },
      /deviceBound must be true, false or an options object/,
    ],
  ])('refuses %s, naming the option', (_name, options, problem) => {
    expect(problemsOf(options).join('\n')).toMatch(problem);
  });
});
