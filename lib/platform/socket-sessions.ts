import {
  Inject,
  Injectable,
  Logger,
  type INestApplication,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { HeadersExchange, type PlainHeaders } from '../core/headers.exchange.js';
import { SESSION_RUNTIME, type SessionRuntime } from '../core/session-runtime.js';
import { SessionState } from '../core/session-state.js';
import { bindSocket, SocketBinding, socketBindingOf } from './socket-binding.js';
import { handshakeRefusal } from './socket-handshake.js';
import { SocketSessionInterceptor } from './socket-session.interceptor.js';
import { SocketRegistry, type ProbedSession, type TrackedSocket } from './socket-registry.js';
import { WatchedStore } from './socket-store-watch.js';

const logger = new Logger('SessionModule');
/** Least time between two warnings that sockets were closed for an unreadable store. */
const STORE_WARNING_EVERY_MS = 60_000;

/** What a session WebSocket adapter hands over about a client it is accepting. */
export interface SocketControls extends TrackedSocket {
  /** Registers a listener called once when the connection closes. */
  onClose(listener: () => void): void;
}

/**
 * The WebSockets of this application, as the session adapters (`SessionWsAdapter`,
 * `SessionIoAdapter`) hand them over: each handshake checked for cross-site use and bound
 * to its client; the sockets of live sessions tracked, and closed when their session ends
 * (at once for revocations through this process, within `socketCheckInterval` otherwise).
 */
@Injectable()
export class SocketSessions implements OnApplicationShutdown {
  private readonly registry: SocketRegistry<HeadersExchange>;
  private readonly refused = new WeakSet<object>();
  private lastStoreWarning = Number.NEGATIVE_INFINITY;
  /** Whether a session adapter made the message interceptor global (once per application). */
  interceptorEnabled = false;

  constructor(
    @Inject(SESSION_RUNTIME) private readonly runtime: SessionRuntime,
    @Inject(WatchedStore) store: WatchedStore,
  ) {
    this.registry = new SocketRegistry(
      (handshake) => this.probe(handshake),
      runtime.options.socketCheckIntervalMs,
    );
    store.listen((hint) => this.registry.hint(hint));
  }

  /** Number of sessions that have open sockets being watched. */
  get trackedSessions(): number {
    return this.registry.size;
  }

  /** Why a handshake with these headers must be refused (answer `403`), or `null`. */
  refusal(headers: PlainHeaders): string | null {
    return handshakeRefusal(new HeadersExchange(headers), this.runtime);
  }

  /**
   * Accepts a connected client, or refuses it (`false`: the adapter closes it and tells Nest
   * nothing). Synchronous, so that no message of an accepted client is missed; the session of
   * the handshake is then read in the background, and the socket tracked if it is live. The
   * same client may be handed over once per gateway: later calls repeat the first answer.
   */
  accept(client: object, headers: PlainHeaders, controls: SocketControls): boolean {
    if (socketBindingOf(client) !== undefined) {
      return true;
    }
    if (this.refused.has(client)) {
      return false;
    }
    const handshake = new HeadersExchange(headers, this.runtime.now());
    if (handshakeRefusal(handshake, this.runtime) !== null) {
      this.refused.add(client);
      return false;
    }
    bindSocket(client, new SocketBinding(this.runtime, handshake));
    void this.track(handshake, controls);
    return true;
  }

  onApplicationShutdown(): void {
    this.registry.close();
  }

  private async track(handshake: HeadersExchange, controls: SocketControls): Promise<void> {
    let open = true;
    let untrack: (() => void) | null = null;
    controls.onClose(() => {
      open = false;
      untrack?.();
    });
    let session: ProbedSession | null;
    try {
      session = await this.probe(handshake);
    } catch {
      if (open) {
        controls.end('unverified');
      }
      return;
    }
    if (session !== null && open) {
      untrack = this.registry.track(session, handshake, controls);
    }
  }

  /** What a message sent now would see of the handshake's session. */
  private async probe(handshake: HeadersExchange): Promise<ProbedSession | null> {
    const state = new SessionState(this.runtime, handshake);
    try {
      await state.load();
    } catch (error) {
      const now = Date.now();
      if (now - this.lastStoreWarning >= STORE_WARNING_EVERY_MS) {
        this.lastStoreWarning = now;
        logger.warn(
          'Closing WebSockets whose session cannot be read: the session store is unavailable',
        );
      }
      throw error;
    }
    return state.hasStoredSession() ? { id: state.id, userId: state.userId } : null;
  }
}

/**
 * Readies an application for a session adapter and returns its `SocketSessions`: the
 * interceptor that runs each message with its session (and saves it) is made global here, the
 * first time, rather than by `SessionModule`, so that HTTP-only applications do not pay for it
 * on every request. Throws, naming the fix, when the application has no `SessionModule` (a
 * socket must never be served without its checks).
 */
export function enableSocketSessions(app: INestApplication, adapter: string): SocketSessions {
  let sessions: SocketSessions;
  try {
    sessions = app.get(SocketSessions, { strict: false });
  } catch (error) {
    throw new Error(
      `${adapter} needs SessionModule.forRoot() (or forRootAsync()) imported in the application it is created with`,
      { cause: error },
    );
  }
  if (!sessions.interceptorEnabled) {
    sessions.interceptorEnabled = true;
    app.useGlobalInterceptors(app.get(SocketSessionInterceptor, { strict: false }));
  }
  return sessions;
}
