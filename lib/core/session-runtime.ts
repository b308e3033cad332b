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
import { DeviceSessions } from '../dbsc/device-sessions.js';
import type { SessionExchange } from './session-exchange.js';
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
  /** Device-bound sessions (`deviceBound`); `null` when off. */
  readonly devices: DeviceSessions | null;

  constructor(
    readonly options: ResolvedSessionOptions,
    readonly store: SessionStore,
    readonly now: () => number,
    revocations: RevocationStore | null = null,
  ) {
    this.events = new SessionEvents(now);
    this.devices = options.deviceBound === null ? null : new DeviceSessions(options, now);
    this.revocations = options.stateless
      ? (revocations ?? new MemoryRevocationStore({ now }))
      : null;
    this.persistence =
      this.revocations !== null
        ? new SealedCookiePersistence(this.revocations, options)
        : new ServerSidePersistence(store, options);
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
