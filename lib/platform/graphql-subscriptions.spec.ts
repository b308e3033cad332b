import { describe, expect, it } from '@jest/globals';
import { SessionRuntime } from '../core/session-runtime.js';
import type { SessionModuleOptions } from '../interfaces/session-module-options.interface.js';
import { resolveSessionOptions } from '../options/resolve-session-options.js';
import { MemoryStore } from '../stores/memory-session.store.js';
import {
  GraphQLSubscriptionSessions,
  subscriptionSessionOf,
  type SubscriptionHandshake,
} from './graphql-subscriptions.js';

const SECRET = 'tX9#kQ2!vL7@pR4$wZ8%nB3^mC6&hJ1*';
const TRUSTED = 'https://app.example.com';
const COOKIE = '__Host-sid=abc.def';

function sessions(options: Partial<SessionModuleOptions> = {}): GraphQLSubscriptionSessions {
  const resolved = resolveSessionOptions({
    secret: SECRET,
    transport: ['cookie', 'header'],
    csrf: { trustedOrigins: [TRUSTED] },
    ...options,
  });
  return new GraphQLSubscriptionSessions(new SessionRuntime(resolved, new MemoryStore(), Date.now));
}

/** The operation context a driver would build from the entry, and its session. */
function operation(
  handshake: SubscriptionHandshake,
  options?: Partial<SessionModuleOptions>,
  extra: Record<string, unknown> = {},
) {
  const context = { ...sessions(options).context(handshake), ...extra };
  const session = subscriptionSessionOf(context);
  if (session === undefined) {
    throw new Error('no session entry in the context');
  }
  return { context, session };
}

function cookieKept(headers: Record<string, string>, options?: Partial<SessionModuleOptions>) {
  return operation(
    { headers: { host: 'api.example.com', cookie: COOKIE, ...headers } },
    options,
  ).session.header('cookie');
}

describe('GraphQLSubscriptionSessions', () => {
  describe("the handshake's cookie", () => {
    it('is kept without an Origin (a non-browser client), from the own host, or from a trusted origin', () => {
      expect(cookieKept({})).toBe(COOKIE);
      expect(cookieKept({ origin: 'https://api.example.com' })).toBe(COOKIE);
      expect(cookieKept({ origin: TRUSTED, 'sec-fetch-site': 'same-site' })).toBe(COOKIE);
      expect(
        cookieKept({ origin: 'https://API.example.com', 'sec-fetch-site': 'same-origin' }),
      ).toBe(COOKIE);
    });

    it('is dropped for a foreign, opaque or malformed Origin, and for cross-site Fetch Metadata', () => {
      expect(cookieKept({ origin: 'https://evil.example' })).toBeUndefined();
      expect(cookieKept({ origin: 'https://api.example.com:8443' })).toBeUndefined();
      expect(cookieKept({ origin: 'null' })).toBeUndefined();
      expect(cookieKept({ origin: 'not a url' })).toBeUndefined();
      expect(cookieKept({ 'sec-fetch-site': 'cross-site' })).toBeUndefined();
      expect(
        cookieKept({ origin: 'https://sub.example.com', 'sec-fetch-site': 'same-site' }),
      ).toBeUndefined();
    });

    it('is kept when the app turned the CSRF layer off', () => {
      expect(cookieKept({ origin: 'https://evil.example' }, { csrf: false })).toBe(COOKIE);
    });
  });

  describe('the bearer token', () => {
    it('comes from connectionParams.authorization, whatever the case of the key', () => {
      for (const key of ['authorization', 'Authorization']) {
        const { session } = operation({ headers: {}, connectionParams: { [key]: 'Bearer t.s' } });
        expect(session.state.usesHeaderTransport()).toBe(true);
      }
    });

    it("defaults to Mercurius's connection_init payload in the operation context", () => {
      const { session } = operation({ headers: {} }, undefined, {
        _connectionInit: { authorization: 'Bearer t.s' },
      });
      expect(session.state.usesHeaderTransport()).toBe(true);
    });

    it('is not taken from connectionParams when the handshake itself has an Authorization header', () => {
      const { session } = operation({
        headers: { authorization: 'Bearer from.handshake' },
        connectionParams: { authorization: 42 },
      });
      expect(session.state.usesHeaderTransport()).toBe(true);
      expect(session.header('authorization')).toBe('Bearer from.handshake');
    });

    it('is ignored when it is not a string', () => {
      const { session } = operation({ headers: {}, connectionParams: { authorization: 42 } });
      expect(session.state.usesHeaderTransport()).toBe(false);
    });
  });

  it('gives each operation context its own session, and the same one within an operation', () => {
    const entry = sessions().context({ headers: { cookie: COOKIE } });
    const first = { ...entry };
    const second = { ...entry };
    expect(subscriptionSessionOf(first)?.state).toBe(subscriptionSessionOf(first)?.state);
    expect(subscriptionSessionOf(first)?.state).not.toBe(subscriptionSessionOf(second)?.state);
  });

  it('finds no session in a context without the entry', () => {
    expect(subscriptionSessionOf(undefined)).toBeUndefined();
    expect(subscriptionSessionOf({ req: {} })).toBeUndefined();
  });
});
