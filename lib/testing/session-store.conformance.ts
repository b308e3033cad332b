import type { SessionStore } from '../interfaces/session-store.interface.js';
import { registerEndedSessionTests, registerLimitTests } from './session-store.atomicity.js';
import { registerGetSetTests, registerTouchDestroyTests } from './session-store.basics.js';
import { registerDeviceBindingTests } from './session-store.device-binding.js';
import { registerOddInputTests } from './session-store.odd-input.js';
import { registerClientTests } from './session-store.client.js';
import { registerReportTests } from './session-store.reports.js';
import { registerRotationTests } from './session-store.rotation.js';
import { registerUserIndexTests, registerUserLimitTests } from './session-store.per-user.js';
import { registerUpdateTests } from './session-store.updates.js';

/**
 * The parts of a test runner the suite uses. Jest, Vitest, Mocha and `node:test` all provide
 * them (for `node:test`, `it` and `describe` come from the module).
 */
export interface ConformanceRunner {
  describe(name: string, body: () => void): void;
  it(name: string, body: () => Promise<void>): void;
}

/** Options of `runSessionStoreConformance`. */
export interface SessionStoreConformanceOptions {
  /** Names the store in the suite's title. */
  name: string;
  /**
   * Makes the store under test; called at the start of every test. It may return the same
   * instance each time: every test uses fresh random session and user ids.
   */
  createStore(): SessionStore | Promise<SessionStore>;
  /** Called after every test with its store. Default: `store.close?.()`. */
  disposeStore?(store: SessionStore): Promise<void> | void;
  /**
   * The runner's `describe` and `it`. Default: the `describe` and `it` globals (Jest, Vitest
   * with `globals: true`, Mocha); pass them explicitly for `node:test` or an ESM Jest setup
   * that imports them from `@jest/globals`.
   */
  runner?: ConformanceRunner;
  /**
   * Short TTL used by expiry tests, in ms. Default 150. The suite waits about twice this long
   * for a session to expire; raise it for a store whose expiry is coarser.
   */
  shortTtlMs?: number;
  /**
   * Require `set` to resolve `{ evicted }` (the sessions `maxSessionsPerUser` ended). Default
   * `false`: reporting is optional, but a store that resolves a result must report exactly the
   * evicted sessions. The built-in stores report.
   */
  reportsEvictions?: boolean;
  /**
   * Require `watchExpiry` to report a session that expired (once, soon after). Default
   * `false`: a store without it passes, but one that reports may never report a live session.
   */
  reportsExpiry?: boolean;
  /**
   * The store implements the optional `swapDeviceBinding` (which `deviceBound` needs): run its
   * section too. Default `false`. The built-in stores do.
   */
  deviceBinding?: boolean;
}

/**
 * Registers the conformance suite of the `SessionStore` contract: every store, built in or
 * third-party, should pass it. It checks expiry, copies, delta updates, concurrent updates of
 * one session, touch, destroy, the per-user index, `maxSessionsPerUser` under both policies
 * with concurrent logins (and moves, which it must not count), `maxDataSize` on concurrent
 * updates, odd ids, user ids and data keys (unicode, very long, `__proto__`), and that a
 * session that ended never comes back: moves (`replaces`), updates and touches held in flight
 * (by a `PausingStore`) while their session is destroyed, revoked with the rest of its user's,
 * evicted by a login or expires, must reject with `SessionRevokedError` and write nothing. It
 * also checks what a store reports (the sessions `set` evicted, expiries from `watchExpiry`;
 * required with `reportsEvictions` / `reportsExpiry`) and, for a store with `setClient`, that the
 * client fingerprint of hijack signals round-trips verbatim and never brings a session back. A
 * store that declares `supportsRotation` is also held to token rotation: the move and its
 * tombstone in one step, one successor for concurrent rotations, no resurrection through a
 * tombstone, and `destroyRotated` racing rotations.
 * With `deviceBinding: true`, also the optional `swapDeviceBinding`: compare-and-set, atomic
 * under concurrency, kept by updates and moves, never reviving an ended session.
 *
 * The suite takes the runner's `describe`/`it` as a parameter (or uses its globals) and asserts
 * with `node:assert`, so it has no dependency on any test framework: importing it never pulls
 * in Jest. Call it at the top level of a test file. It uses real time (expiry tests wait a few
 * hundred ms) and leaves its sessions in the store; give it a store that is private to the test
 * run (e.g. a unique key prefix) and clean up after.
 *
 * @example
 * ```ts
 * // my-store.conformance.spec.ts (Jest, ESM)
 * import { describe, it } from '@jest/globals';
 * import { runSessionStoreConformance } from 'nest-secure-session/testing';
 *
 * runSessionStoreConformance({
 *   name: 'MyStore',
 *   createStore: () => new MyStore(),
 *   runner: { describe, it },
 * });
 * ```
 * @example
 * ```ts
 * // node:test
 * import { describe, it } from 'node:test';
 * runSessionStoreConformance({ name: 'MyStore', createStore: () => new MyStore(), runner: { describe, it } });
 * ```
 */
export function runSessionStoreConformance(options: SessionStoreConformanceOptions): void {
  const runner = options.runner ?? globalRunner();
  const shortTtl = options.shortTtlMs ?? 150;
  const dispose = options.disposeStore ?? ((store: SessionStore) => store.close?.());

  const test = (name: string, body: (store: SessionStore) => Promise<void>): void =>
    runner.it(name, async () => {
      const store = await options.createStore();
      try {
        await body(store);
      } finally {
        await dispose(store);
      }
    });

  runner.describe(`SessionStore conformance: ${options.name}`, () => {
    runner.describe('get and set', () => {
      registerGetSetTests(test, shortTtl);
    });

    runner.describe('update', () => {
      registerUpdateTests(test, shortTtl);
    });

    runner.describe('touch and destroy', () => {
      registerTouchDestroyTests(test, shortTtl);
    });

    runner.describe('per-user index', () => {
      registerUserIndexTests(test, shortTtl);
    });

    runner.describe('maxSessionsPerUser', () => {
      registerUserLimitTests(test, shortTtl);
    });

    runner.describe('limits that hold: moves, listings, maxDataSize', () => {
      registerLimitTests(test);
    });

    runner.describe('a session that ended never comes back (forced interleavings)', () => {
      registerEndedSessionTests(test, shortTtl);
    });

    runner.describe('reports: evictions and expiries', () => {
      registerReportTests(test, shortTtl, {
        evictions: options.reportsEvictions ?? false,
        expiry: options.reportsExpiry ?? false,
      });
    });

    runner.describe('client fingerprint (hijack signals; stores with setClient)', () => {
      registerClientTests(test);
    });

    runner.describe('token rotation (supportsRotation; forced interleavings)', () => {
      registerRotationTests(test, shortTtl);
    });

    runner.describe('odd input', () => {
      registerOddInputTests(test);
    });

    if (options.deviceBinding === true) {
      runner.describe('device binding (swapDeviceBinding)', () => {
        registerDeviceBindingTests(test, shortTtl);
      });
    }
  });
}

/** `describe`/`it` from the runner's globals, or a clear error when there are none. */
function globalRunner(): ConformanceRunner {
  const scope = globalThis as { describe?: unknown; it?: unknown };
  if (typeof scope.describe !== 'function' || typeof scope.it !== 'function') {
    throw new Error(
      'runSessionStoreConformance found no global describe/it: pass your runner, e.g. runner: { describe, it }',
    );
  }
  return { describe: scope.describe, it: scope.it } as ConformanceRunner;
}
