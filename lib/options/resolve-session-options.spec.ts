import { afterEach, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { deriveKey } from '../crypto/session-token.js';
import { MemoryStore } from '../stores/memory-session.store.js';
import type { SessionModuleOptions } from '../interfaces/session-module-options.interface.js';
import { resolveSessionOptions } from './resolve-session-options.js';
import { SessionOptionsError } from './session-options.error.js';

const SECRET = 'tX9#kQ2!vL7@pR4$wZ8%nB3^mC6&hJ1*';
const OLD_SECRET = 'Yq3!Lm8@Zr5#Tw2$Kp9%Vx6^Bn4&Hd7*';

/** The problems `resolveSessionOptions` reports for these options (fails if it accepts them). */
function problemsOf(options: Partial<SessionModuleOptions>): readonly string[] {
  try {
    resolveSessionOptions({ secret: SECRET, ...options } as SessionModuleOptions);
  } catch (error) {
    expect(error).toBeInstanceOf(SessionOptionsError);
    const { problems, message } = error as SessionOptionsError;
    for (const problem of problems) {
      expect(message).toContain(problem);
    }
    return problems;
  }
  throw new Error(`accepted ${JSON.stringify(options)}`);
}

describe('resolveSessionOptions', () => {
  const originalNodeEnv = process.env.NODE_ENV;
  afterEach(() => {
    process.env.NODE_ENV = originalNodeEnv;
  });

  it('applies the hardened defaults', () => {
    const resolved = resolveSessionOptions({ secret: SECRET });
    expect(resolved.cookie).toEqual({
      name: '__Host-sid',
      secure: true,
      httpOnly: true,
      sameSite: 'lax',
      path: '/',
      domain: undefined,
      persistent: false,
    });
    expect(resolved.idleTimeoutMs).toBe(30 * 60_000);
    expect(resolved.absoluteTimeoutMs).toBe(12 * 3_600_000);
    expect(resolved.touchAfterMs).toBe(60_000);
    expect(resolved.socketCheckIntervalMs).toBe(5_000);
    expect(resolved.keepOnLogin).toEqual([]);
    expect(resolved.maxDataSize).toBe(16 * 1024);
    // Every user is limited, and listings bounded, unless the app says otherwise.
    expect(resolved.sessionLimit).toEqual({ maxSessionsPerUser: 50, limitPolicy: 'evict-oldest' });
    expect(resolved.maxListedSessions).toBe(50);
  });

  it('takes an explicit maxSessionsPerUser and policy', () => {
    const resolved = resolveSessionOptions({
      secret: SECRET,
      maxSessionsPerUser: 3,
      sessionLimitPolicy: 'refuse',
    });
    expect(resolved.sessionLimit).toEqual({ maxSessionsPerUser: 3, limitPolicy: 'refuse' });
    expect(resolved.maxListedSessions).toBe(3);
  });

  it("store: 'cookie' needs no session limit: the default does not apply there", () => {
    expect(resolveSessionOptions({ secret: SECRET, store: 'cookie' }).sessionLimit).toEqual({});
  });

  it('merges user cookie attributes over the defaults', () => {
    const resolved = resolveSessionOptions({
      secret: SECRET,
      cookie: { sameSite: 'strict', persistent: true },
    });
    expect(resolved.cookie).toMatchObject({
      name: '__Host-sid',
      secure: true,
      httpOnly: true,
      sameSite: 'strict',
      persistent: true,
    });
  });

  it('reads durations as strings or milliseconds', () => {
    const resolved = resolveSessionOptions({
      secret: SECRET,
      idleTimeout: '10m',
      absoluteTimeout: 7_200_000,
      touchAfter: '30s',
      socketCheckInterval: 250,
    });
    expect(resolved.socketCheckIntervalMs).toBe(250);
    expect(resolved.idleTimeoutMs).toBe(600_000);
    expect(resolved.absoluteTimeoutMs).toBe(7_200_000);
    expect(resolved.touchAfterMs).toBe(30_000);
  });

  it('is frozen, cookie and lists included', () => {
    const resolved = resolveSessionOptions({ secret: SECRET, keepOnLogin: ['cart'] });
    expect(Object.isFrozen(resolved)).toBe(true);
    expect(Object.isFrozen(resolved.cookie)).toBe(true);
    expect(Object.isFrozen(resolved.keepOnLogin)).toBe(true);
    expect(Object.isFrozen(resolved.signingKeys)).toBe(true);
  });

  it('does not keep a reference to the caller’s lists', () => {
    const keepOnLogin = ['cart'];
    const resolved = resolveSessionOptions({ secret: SECRET, keepOnLogin });
    keepOnLogin.push('theme');
    expect(resolved.keepOnLogin).toEqual(['cart']);
  });

  it('derives one signing key per secret, the first one first, never the raw secret', () => {
    const resolved = resolveSessionOptions({ secret: [SECRET, OLD_SECRET] });
    expect(resolved.signingKeys).toHaveLength(2);
    expect(resolved.signingKeys[0].equals(deriveKey(SECRET, 'token-signing'))).toBe(true);
    expect(resolved.signingKeys[1].equals(deriveKey(OLD_SECRET, 'token-signing'))).toBe(true);
    expect(JSON.stringify(resolved)).not.toContain(SECRET);
    expect(JSON.stringify(resolved)).not.toContain(OLD_SECRET);
  });

  describe('refusals name the option', () => {
    it.each<[string, Partial<SessionModuleOptions>, RegExp]>([
      ['a short secret', { secret: 'short' }, /^secret is shorter than 32 bytes/],
      ['an empty secret list', { secret: [] }, /^secret is required/],
      ['a non-string secret', { secret: 42 as unknown as string }, /^secret must be a string/],
      [
        'a placeholder secret',
        { secret: 'keyboard cat '.repeat(4) },
        /^secret looks like a placeholder/,
      ],
      ['a low-variety secret', { secret: 'abababababababababababababababab' }, /placeholder/],
      ['a short old secret', { secret: [SECRET, 'tiny'] }, /^secret\[1\] is shorter than 32 bytes/],
      [
        "sameSite 'none' without secure",
        { cookie: { name: 'sid', sameSite: 'none', secure: false } },
        /^cookie\.sameSite 'none' requires cookie\.secure/,
      ],
      ['an unknown sameSite', { cookie: { sameSite: 'loose' as 'lax' } }, /^cookie\.sameSite/],
      [
        '__Host- with a domain',
        { cookie: { domain: 'example.com' } },
        /^cookie\.domain.*__Secure-/,
      ],
      ['__Host- with a path', { cookie: { path: '/app' } }, /^cookie\.path.*__Secure-/],
      ['a name with ;', { cookie: { name: 'a;b' } }, /^cookie\.name/],
      ['a name with a space', { cookie: { name: 'a b' } }, /^cookie\.name/],
      ['a name with a control character', { cookie: { name: 'a\u0007' } }, /^cookie\.name/],
      ['a path with ;', { cookie: { name: 's', path: '/a;b' } }, /^cookie\.path/],
      ['a path with a space', { cookie: { name: 's', path: '/a b' } }, /^cookie\.path/],
      [
        'a path with a control character',
        { cookie: { name: 's', path: '/a\u0000' } },
        /^cookie\.path/,
      ],
      ['a domain with ;', { cookie: { name: 's', domain: 'a.com;b' } }, /^cookie\.domain/],
      ['a domain with a space', { cookie: { name: 's', domain: 'a .com' } }, /^cookie\.domain/],
      [
        'a domain with a control character',
        { cookie: { name: 's', domain: 'a.com\r' } },
        /^cookie\.domain/,
      ],
      ['a bad idleTimeout', { idleTimeout: '5 minutes' }, /^idleTimeout/],
      ['a zero absoluteTimeout', { absoluteTimeout: 0 }, /^absoluteTimeout/],
      ['a bad touchAfter', { touchAfter: -5 }, /^touchAfter/],
      ['idle longer than absolute', { idleTimeout: '2h', absoluteTimeout: '1h' }, /^idleTimeout/],
      ['touchAfter not below idle', { idleTimeout: '1m', touchAfter: '1m' }, /^touchAfter/],
      ['a bad socketCheckInterval', { socketCheckInterval: 'often' }, /^socketCheckInterval/],
      ['a socketCheckInterval under 100 ms', { socketCheckInterval: 50 }, /^socketCheckInterval/],
      ['a tiny maxDataSize', { maxDataSize: 10 }, /^maxDataSize/],
      ['a zero maxSessionsPerUser', { maxSessionsPerUser: 0 }, /^maxSessionsPerUser/],
      [
        "maxSessionsPerUser with store: 'cookie' (it could never be enforced)",
        { store: 'cookie', maxSessionsPerUser: 5 },
        /^maxSessionsPerUser cannot be enforced with store: 'cookie'/,
      ],
      [
        'keepOnLogin not a list of strings',
        { keepOnLogin: [1 as unknown as string] },
        /^keepOnLogin/,
      ],
    ])('%s', (_label, options, pattern) => {
      const problems = problemsOf(options);
      expect(problems.some((problem) => pattern.test(problem))).toBe(true);
    });

    it('refuses options that are not an object', () => {
      expect(() => resolveSessionOptions(undefined as unknown as SessionModuleOptions)).toThrow(
        SessionOptionsError,
      );
    });
  });

  describe('secure: false under NODE_ENV=production', () => {
    it('is refused without allowInsecureCookies, naming the opt-in', () => {
      process.env.NODE_ENV = 'production';
      const problems = problemsOf({ cookie: { name: 'sid', secure: false } });
      expect(problems.join('\n')).toMatch(/^cookie\.secure: false .*allowInsecureCookies: true/m);
    });

    it('is accepted with allowInsecureCookies: true', () => {
      process.env.NODE_ENV = 'production';
      const resolved = resolveSessionOptions({
        secret: SECRET,
        cookie: { name: 'sid', secure: false },
        allowInsecureCookies: true,
      });
      expect(resolved.cookie.secure).toBe(false);
    });

    it('is accepted outside production', () => {
      process.env.NODE_ENV = 'test';
      expect(
        resolveSessionOptions({ secret: SECRET, cookie: { name: 'sid', secure: false } }).cookie
          .secure,
      ).toBe(false);
    });
  });

  it('property: no error message ever contains the secret', () => {
    fc.assert(
      fc.property(
        // 16 to 31 random characters: too short, and never a word the message uses anyway.
        fc
          .uint8Array({ minLength: 12, maxLength: 23 })
          .map((bytes) => Buffer.from(bytes).toString('base64url')),
        fc.constantFrom<Partial<SessionModuleOptions>>(
          {},
          { cookie: { domain: 'x.com' } },
          { idleTimeout: 'bad' },
        ),
        (secret, extra) => {
          let message = '';
          try {
            resolveSessionOptions({ ...extra, secret });
          } catch (error) {
            message = (error as Error).message;
          }
          expect(message).not.toBe('');
          expect(message).not.toContain(secret);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('property: a valid secret with a bad option never appears in the message', () => {
    fc.assert(
      fc.property(
        fc
          .uint8Array({ minLength: 32, maxLength: 48 })
          .map((bytes) => Buffer.from(bytes).toString('base64url')),
        (secret) => {
          fc.pre(new Set(secret).size >= 8);
          expect(() =>
            resolveSessionOptions({ secret, cookie: { sameSite: 'none', secure: false } }),
          ).toThrow(SessionOptionsError);
          try {
            resolveSessionOptions({ secret, cookie: { sameSite: 'none', secure: false } });
          } catch (error) {
            expect((error as Error).message).not.toContain(secret);
          }
        },
      ),
      { numRuns: 100 },
    );
  });
  describe('rotateEvery and rotationGrace', () => {
    const stores: MemoryStore[] = [];
    afterEach(() => {
      stores.splice(0).forEach((store) => store.close());
    });
    /** A store with every method but no rotation capability (a custom store). */
    function plainStore() {
      const store = new MemoryStore();
      stores.push(store);
      const { get, set, update, touch, destroy, listByUser, destroyByUser } = store;
      const bound = (fn: (...args: never[]) => unknown) => fn.bind(store);
      return {
        supportsReplaces: true,
        get: bound(get),
        set: bound(set),
        update: bound(update),
        touch: bound(touch),
        destroy: bound(destroy),
        listByUser: bound(listByUser),
        destroyByUser: bound(destroyByUser),
      } as unknown as SessionModuleOptions['store'];
    }

    it('are off by default', () => {
      expect(resolveSessionOptions({ secret: SECRET }).rotation).toBeNull();
    });

    it('resolve with a 10 s default grace', () => {
      expect(resolveSessionOptions({ secret: SECRET, rotateEvery: '15m' }).rotation).toEqual({
        everyMs: 900_000,
        graceMs: 10_000,
      });
      expect(
        resolveSessionOptions({ secret: SECRET, rotateEvery: 60_000, rotationGrace: '2s' })
          .rotation,
      ).toEqual({ everyMs: 60_000, graceMs: 2_000 });
    });

    it("are refused with store: 'cookie', saying why", () => {
      expect(problemsOf({ store: 'cookie', rotateEvery: '15m' })).toEqual([
        expect.stringMatching(/^rotateEvery needs a server-side store: with store: 'cookie'/),
      ]);
    });

    it('are refused for a store without supportsRotation, naming the capability', () => {
      expect(problemsOf({ store: plainStore(), rotateEvery: '15m' })).toEqual([
        expect.stringMatching(/rotateEvery needs a store with supportsRotation/),
      ]);
    });

    it('refuse a grace that is not shorter than the period, a bad duration, or a grace alone', () => {
      expect(problemsOf({ rotateEvery: '10s', rotationGrace: '10s' })).toEqual([
        expect.stringMatching(/^rotationGrace \(10000 ms\) must be shorter than rotateEvery/),
      ]);
      expect(problemsOf({ rotateEvery: 'soon' })).toEqual([
        expect.stringMatching(/^rotateEvery must be a positive number of ms/),
      ]);
      expect(problemsOf({ rotateEvery: '1m', rotationGrace: 0 })).toEqual([
        expect.stringMatching(/^rotationGrace must be a positive number of ms/),
      ]);
      expect(problemsOf({ rotationGrace: '5s' })).toEqual([
        'rotationGrace has no effect without rotateEvery; set rotateEvery, or remove rotationGrace',
      ]);
    });

    it('a typo of either is caught with a hint', () => {
      expect(problemsOf({ rotateEvry: '15m' } as Partial<SessionModuleOptions>)[0]).toContain(
        'rotateEvery',
      );
    });
  });
});
