import type { SessionState } from '../core/session-state.js';

const SESSION_STATE = Symbol('nest-secure-session.state');

type Bound = { [SESSION_STATE]?: SessionState };

/** The session state an adapter bound to a platform object (a request, a socket), if any. */
export function boundSessionOf(target: object): SessionState | undefined {
  return (target as Bound)[SESSION_STATE];
}

/** Binds a session state to a platform object (the node request, a socket). */
export function bindSession(target: object, state: SessionState): void {
  (target as Bound)[SESSION_STATE] = state;
}
