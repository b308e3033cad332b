import { AsyncLocalStorage } from 'node:async_hooks';
import type { IncomingMessage } from 'node:http';
import type { SessionStore } from '../interfaces/session-store.interface.js';
import type { ResolvedSessionOptions } from '../options/resolve-session-options.js';
import type { RequestSession } from './request-session.js';

/** Injection token of the resolved, frozen options. */
export const SESSION_OPTIONS = Symbol('SESSION_OPTIONS');
/** Injection token of the clock (`() => number`, ms); tests replace it with a fake one. */
export const SESSION_CLOCK = Symbol('SESSION_CLOCK');

/** What every request's session shares: options, store, clock, and the request context. */
export interface SessionRuntime {
  readonly options: ResolvedSessionOptions;
  readonly store: SessionStore;
  readonly now: () => number;
  readonly context: AsyncLocalStorage<RequestSession>;
}

/** Injection token of the `SessionRuntime`. */
export const SESSION_RUNTIME = Symbol('SESSION_RUNTIME');

const REQUEST_SESSION = Symbol('nest-secure-session.request');

/** The session state the middleware attached to a request, if any. */
export function requestSessionOf(request: IncomingMessage): RequestSession | undefined {
  return (request as IncomingMessage & { [REQUEST_SESSION]?: RequestSession })[REQUEST_SESSION];
}

/** Attaches a request's session state. */
export function attachRequestSession(request: IncomingMessage, session: RequestSession): void {
  (request as IncomingMessage & { [REQUEST_SESSION]?: RequestSession })[REQUEST_SESSION] = session;
}
