import type { ExecutionContext } from '@nestjs/common';
import type { HeadersExchange } from '../core/headers.exchange.js';
import type { SessionRuntime } from '../core/session-runtime.js';
import { SessionState } from '../core/session-state.js';
import type { ContextSession } from './execution-context.js';

const SOCKET_BINDING = Symbol('nest-secure-session.socket');

type Bound = { [SOCKET_BINDING]?: SocketBinding };

/**
 * What a session WebSocket adapter binds to a client it accepted: the handshake (the upgrade
 * request's headers, checked for cross-site use) and, per message, a fresh session state read
 * from them. Each message re-reads the store, so it sees revocations made since the handshake.
 */
export class SocketBinding {
  /** Per message: Nest hands guards and interceptors one `args` array for a message. */
  private readonly byMessage = new WeakMap<object, SessionState>();
  /** Every state made for this client, to recognise one found in the async context. */
  private readonly own = new WeakSet<SessionState>();

  constructor(
    readonly runtime: SessionRuntime,
    readonly handshake: HeadersExchange,
  ) {}

  /**
   * The session state of the message behind `context`, made on first request. Parameter
   * decorators get a copy of the message's `args`, but run inside the interceptor that put the
   * message's state in the async context: that state is theirs.
   */
  stateFor(context: ExecutionContext): SessionState {
    const args = context.getArgs();
    const known = this.byMessage.get(args);
    if (known !== undefined) {
      return known;
    }
    const current = this.runtime.context.getStore();
    if (current !== undefined && this.own.has(current)) {
      return current;
    }
    const state = new SessionState(this.runtime, this.handshake);
    this.byMessage.set(args, state);
    this.own.add(state);
    return state;
  }
}

/** Binds a session to an accepted WebSocket client (a `ws` WebSocket, a socket.io Socket). */
export function bindSocket(client: object, binding: SocketBinding): void {
  (client as Bound)[SOCKET_BINDING] = binding;
}

/** The binding of a WebSocket client, if a session adapter accepted it. */
export function socketBindingOf(client: unknown): SocketBinding | undefined {
  return typeof client === 'object' && client !== null
    ? (client as Bound)[SOCKET_BINDING]
    : undefined;
}

/** The session state of a WebSocket message, or `null` when its client has none bound. */
export function socketStateOf(context: ExecutionContext): SessionState | null {
  return socketBindingOf(context.switchToWs().getClient())?.stateFor(context) ?? null;
}

/** The session of a WebSocket message, or `null` when its client has none bound. */
export function socketSessionOf(context: ExecutionContext): ContextSession | null {
  const binding = socketBindingOf(context.switchToWs().getClient());
  if (binding === undefined) {
    return null;
  }
  const state = binding.stateFor(context);
  return {
    state,
    // Cross-site use is refused at the handshake; a message has no CSRF token to check.
    unsafe: false,
    viaGet: false,
    header: (name) => binding.handshake.header(name),
    field: () => undefined,
  };
}
