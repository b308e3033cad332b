import { AsyncLocalStorage } from 'node:async_hooks';
import type { SessionTransport } from '../interfaces/session-module-options.interface.js';
import type { RevocationStore } from '../interfaces/revocation-store.interface.js';
import type { SessionStore } from '../interfaces/session-store.interface.js';
import type { ResolvedSessionOptions } from '../options/resolve-session-options.js';
import { MemoryRevocationStore } from '../stores/memory-revocation.store.js';
import { BearerCarrier } from './carriers/bearer.carrier.js';
import { CookieCarrier } from './carriers/cookie.carrier.js';
import type { TokenCarrier } from './carriers/token-carrier.js';
import { SealedCookiePersistence } from './persistence/sealed-cookie.persistence.js';
import { ServerSidePersistence } from './persistence/server-side.persistence.js';
import type { SessionPersistence } from './persistence/session-persistence.js';
import { SessionEvents } from '../events/session-events.js';
import {
  failureReportingRevocations,
  FailureReportingStore,
} from '../events/store-failure-reporting.js';
import { DeviceSessions } from '../dbsc/device-sessions.js';
import type { SessionExchange } from './session-exchange.js';
import { TokenRotation } from './session-rotation.js';
import type { SessionState } from './session-state.js';

/** Injection token of the resolved, frozen options. */
export const SESSION_OPTIONS = Symbol('SESSION_OPTIONS');
/** Injection token of the clock (`() => number`, ms); tests replace it with a fake one. */
export const SESSION_CLOCK = Symbol('SESSION_CLOCK');
/** Injection token of the `SessionRuntime`. */
export const SESSION_RUNTIME = Symbol('SESSION_RUNTIME');

/**
 * What every request's session shares: options, store, clock, the carriers the options allow,
 * the persistence they chose, and the async context `SessionService` reads.
 */
export class SessionRuntime {
  readonly persistence: SessionPersistence;
  readonly carriers: Readonly<Partial<Record<SessionTransport, TokenCarrier>>>;
  readonly context = new AsyncLocalStorage<SessionState>();
  /** Stateless mode: where logouts and revoke-alls are remembered; `null` with a server-side store. */
  readonly revocations: RevocationStore | null;
  /** Where what happens to sessions is reported (login, revocation, expiry, store failure…). */
  readonly events: SessionEvents;
  /** The app's store, its failures reported as `store-failure` events. */
  readonly store: SessionStore;
  /** Token rotation (`rotateEvery`), or `null` when it is off. */
  readonly rotation: TokenRotation | null;
  /** Device-bound sessions (`deviceBound`); `null` when off. */
  readonly devices: DeviceSessions | null;

  constructor(
    readonly options: ResolvedSessionOptions,
    store: SessionStore,
    readonly now: () => number,
    revocations: RevocationStore | null = null,
  ) {
    const events = new SessionEvents(now);
    this.events = events;
    this.store = new FailureReportingStore(store, events);
    this.rotation =
      options.rotation === null || options.stateless
        ? null
        : new TokenRotation(this.store, options, events);
    this.devices = options.deviceBound === null ? null : new DeviceSessions(options, now);
    this.revocations = options.stateless
      ? failureReportingRevocations(revocations ?? new MemoryRevocationStore({ now }), events)
      : null;
    this.persistence =
      this.revocations !== null
        ? new SealedCookiePersistence(this.revocations, options, events)
        : new ServerSidePersistence(this.store, options, events, this.rotation);
    this.store.watchExpiry?.((expiry) => events.emit({ type: 'expired', ...expiry }));
    this.carriers = {
      ...(options.transports.cookie ? { cookie: new CookieCarrier(options.cookie) } : {}),
      ...(options.transports.header ? { header: new BearerCarrier() } : {}),
    };
  }

  /** The carrier a request's token is read from: the header when it has one, else the cookie. */
  carrierFor(exchange: SessionExchange): TokenCarrier | null {
    const { cookie, header } = this.carriers;
    if (header?.presentIn(exchange)) {
      return header;
    }
    return cookie ?? null;
  }
}
