import type { INestApplication } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import type { IncomingMessage } from 'node:http';
import type { SocketEnd } from './socket-registry.js';
import { enableSocketSessions, type SocketSessions } from './socket-sessions.js';

/** The parts of a socket.io `Socket` the adapter uses. */
interface IoSocket {
  readonly request: IncomingMessage;
  readonly conn: { close(): void };
  disconnect(close?: boolean): unknown;
  once(event: 'disconnect', listener: () => void): unknown;
}

/** The parts of a socket.io `Server` or `Namespace` the adapter uses. */
interface IoServer {
  on(event: 'connection', listener: (socket: IoSocket) => void): unknown;
}

type ServerOptions = NonNullable<Parameters<IoAdapter['createIOServer']>[1]>;
type AllowRequest = NonNullable<ServerOptions['allowRequest']>;

/**
 * `@nestjs/platform-socket.io`'s `IoAdapter` with sessions: every engine.io handshake is
 * checked like an unsafe HTTP request (a cross-site one is answered `403`), the session of the
 * handshake request is bound to the socket (so `@Session()`, `SessionGuard`, `@Roles()` and
 * `SessionService.current()` work in gateways), and the socket is disconnected when that
 * session ends. Needs `SessionModule` in the application.
 *
 * @example
 * ```ts
 * import { SessionIoAdapter } from 'nest-secure-session/socket.io';
 *
 * const app = await NestFactory.create(AppModule);
 * app.useWebSocketAdapter(new SessionIoAdapter(app));
 * ```
 */
export class SessionIoAdapter extends IoAdapter {
  private readonly sessions: SocketSessions;

  constructor(app: INestApplication) {
    super(app);
    this.sessions = enableSocketSessions(app, 'SessionIoAdapter');
  }

  /** Creates the server with an `allowRequest` that refuses cross-site handshakes first. */
  override createIOServer(
    port: number,
    options?: ServerOptions,
  ): ReturnType<IoAdapter['createIOServer']> {
    const own = options?.allowRequest;
    const allowRequest: AllowRequest = (request, callback) => {
      const refusal = this.sessions.refusal(request.headers);
      if (refusal !== null) {
        callback(refusal, false);
      } else if (own !== undefined) {
        own(request, callback);
      } else {
        callback(null, true);
      }
    };
    return super.createIOServer(port, { ...options, allowRequest } as ServerOptions);
  }

  /** Binds the handshake's session to each socket before Nest sees it; refuses cross-site ones. */
  override bindClientConnect(server: IoServer, callback: (...args: unknown[]) => void): void {
    server.on('connection', (socket) => {
      const accepted = this.sessions.accept(socket, socket.request.headers, {
        // An ended session must not reconnect by itself; an unreadable store may.
        end: (reason: SocketEnd) =>
          reason === 'session-ended' ? socket.disconnect(true) : socket.conn.close(),
        onClose: (listener) => socket.once('disconnect', listener),
      });
      if (accepted) {
        callback(socket);
      } else {
        socket.disconnect(true);
      }
    });
  }
}
