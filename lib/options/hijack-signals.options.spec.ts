import { describe, expect, it } from '@jest/globals';
import type { SessionModuleOptions } from '../interfaces/session-module-options.interface.js';
import type { SessionStore } from '../interfaces/session-store.interface.js';
import { MemoryStore } from '../stores/memory-session.store.js';
import { resolveSessionOptions } from './resolve-session-options.js';
import { SessionOptionsError } from './session-options.error.js';

const SECRET = 'tX9#kQ2!vL7@pR4$wZ8%nB3^mC6&hJ1*';

function resolved(options: Partial<SessionModuleOptions>) {
  return resolveSessionOptions({ secret: SECRET, ...options } as SessionModuleOptions);
}

function problemsOf(options: Partial<SessionModuleOptions>): readonly string[] {
  try {
    resolved(options);
  } catch (error) {
    expect(error).toBeInstanceOf(SessionOptionsError);
    return (error as SessionOptionsError).problems;
  }
  throw new Error(`accepted ${JSON.stringify(options)}`);
}

/** A custom store that predates hijack signals: every method but setClient. */
function legacyStore(): SessionStore {
  const inner = new MemoryStore();
  inner.close();
  return {
    get: (id) => inner.get(id),
    set: (record, ttlMs, options) => inner.set(record, ttlMs, options),
    update: (...args) => inner.update(...args),
    touch: (id, touch) => inner.touch(id, touch),
    destroy: (id) => inner.destroy(id),
    listByUser: (userId, limit) => inner.listByUser(userId, limit),
    destroyByUser: (userId, except) => inner.destroyByUser(userId, except),
  };
}

describe('hijackSignals option', () => {
  it("defaults to { policy: 'log', network: true } with the built-in stores and stateless cookies", () => {
    for (const store of [undefined, new MemoryStore(), 'cookie' as const]) {
      expect(resolved(store === undefined ? {} : { store }).hijackSignals).toEqual({
        policy: 'log',
        network: true,
      });
      if (store instanceof MemoryStore) {
        store.close();
      }
    }
  });

  it('takes a policy and the network switch; false turns it off', () => {
    expect(resolved({ hijackSignals: { policy: 'step-up' } }).hijackSignals).toEqual({
      policy: 'step-up',
      network: true,
    });
    expect(resolved({ hijackSignals: { policy: 'revoke', network: false } }).hijackSignals).toEqual(
      { policy: 'revoke', network: false },
    );
    expect(resolved({ hijackSignals: false }).hijackSignals).toBeNull();
  });

  it('is off by default for a custom store without setClient, and an explicit setting stops the boot', () => {
    expect(resolved({ store: legacyStore() }).hijackSignals).toBeNull();
    expect(problemsOf({ store: legacyStore(), hijackSignals: { policy: 'log' } })).toEqual([
      'hijackSignals needs a store that implements setClient() (the built-in stores do); implement it, or set hijackSignals: false',
    ]);
  });

  it('names a wrong value and a mistyped key', () => {
    expect(
      problemsOf({ hijackSignals: { policy: 'block' } as unknown as { policy: 'log' } }),
    ).toEqual(["hijackSignals.policy must be 'log', 'step-up' or 'revoke'"]);
    expect(
      problemsOf({ hijackSignals: { network: 'yes' } as unknown as { network: boolean } }),
    ).toEqual(['hijackSignals.network must be a boolean']);
    expect(problemsOf({ hijackSignals: true as unknown as false })).toEqual([
      "hijackSignals must be false or an object such as { policy: 'log', network: true }",
    ]);
    const typo = problemsOf({ hijackSignals: { polcy: 'revoke' } as unknown as { policy: 'log' } });
    expect(typo).toHaveLength(1);
    expect(typo[0]).toContain('hijackSignals.polcy');
    expect(typo[0]).toContain('policy');
  });
});
