import type { INestApplication } from '@nestjs/common';
import { WsAdapter } from '@nestjs/platform-ws';
import type { IncomingMessage } from 'node:http';
import type { SocketEnd } from './socket-registry.js';
import { enableSocketSessions, type SocketSessions } from './socket-sessions.js';

/** WebSocket close code of a refused handshake or an ended session (policy violation). */
export const CLOSE_POLICY_VIOLATION = 1008;
/** WebSocket close code when the session store could not be read (try again later). */
export const CLOSE_TRY_AGAIN_LATER = 1013;

/** The parts of a `ws` WebSocket the adapter uses. */
interface WsClient {
  close(code?: number, reason?: string): void;
  once(event: 'close', listener: () => void): unknown;
}

/** The parts of a `ws` WebSocketServer the adapter uses. */
interface WsServer {
  on(event: 'connection', listener: (client: WsClient, request: IncomingMessage) => void): unknown;
}

type VerifyCallback = (verified: boolean, code?: number, message?: string) => void;
type VerifyClient = (
  info: { origin: string; secure: boolean; req: IncomingMessage },
  callback: VerifyCallback,
) => boolean | void;

type WsAdapterOptions = ConstructorParameters<typeof WsAdapter>[1];
type WsServerOptions = NonNullable<Parameters<WsAdapter['create']>[1]>;

/**
 * `@nestjs/platform-ws`'s `WsAdapter` with sessions: every upgrade request is checked like an
 * unsafe HTTP request (a cross-site handshake is answered `403`), the session it presents is
 * bound to the socket (so `@Session()`, `SessionGuard`, `@Roles()` and
 * `SessionService.current()` work in gateways), and the socket is closed (`1008`) when that
 * session ends. Needs `SessionModule` in the application.
 *
 * @example
 * ```ts
 * import { SessionWsAdapter } from 'nest-secure-session/ws';
 *
 * const app = await NestFactory.create(AppModule);
 * app.useWebSocketAdapter(new SessionWsAdapter(app));
 * ```
 */
export class SessionWsAdapter extends WsAdapter {
  private readonly sessions: SocketSessions;

  constructor(app: INestApplication, options?: WsAdapterOptions) {
    super(app, options);
    this.sessions = enableSocketSessions(app, 'SessionWsAdapter');
  }

  /** Creates the server with a `verifyClient` that refuses cross-site handshakes first. */
  override create(port: number, options: WsServerOptions = {}): unknown {
    const own = options.verifyClient as VerifyClient | undefined;
    const verifyClient: VerifyClient = (info, callback) => {
      if (this.sessions.refusal(info.req.headers) !== null) {
        callback(false, 403, 'Forbidden');
        return;
      }
      if (own === undefined) {
        callback(true);
      } else if (own.length >= 2) {
        own(info, callback);
      } else {
        callback(own(info, callback) === true, 401, 'Unauthorized');
      }
    };
    return super.create(port, { ...options, verifyClient });
  }

  /** Binds the handshake's session to each client before Nest sees it; refuses cross-site ones. */
  override bindClientConnect(server: WsServer, callback: (...args: unknown[]) => void): void {
    server.on('connection', (client, request) => {
      const accepted = this.sessions.accept(client, request.headers, {
        end: (reason: SocketEnd) =>
          reason === 'session-ended'
            ? client.close(CLOSE_POLICY_VIOLATION, 'Session ended')
            : client.close(CLOSE_TRY_AGAIN_LATER, 'Session store unavailable'),
        onClose: (listener) => client.once('close', listener),
      });
      if (accepted) {
        callback(client, request);
      } else {
        client.close(CLOSE_POLICY_VIOLATION, 'Cross-site WebSocket handshake refused');
      }
    });
  }
}
