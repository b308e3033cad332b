import { performance } from 'node:perf_hooks';
import { io, type Socket } from 'socket.io-client';
import WebSocket from 'ws';
import type { SocketPlatform } from '../fixtures/socket-app.js';

/** A message from the server: a reply (`{ event, data }`) or Nest's `exception`. */
export interface ServerMessage {
  event: string;
  data: unknown;
}

/** How a connection ended: the WebSocket close code and reason (socket.io: its reason). */
export interface Closed {
  code: number | null;
  reason: string;
  /** `performance.now()` when the client saw it. */
  at: number;
}

/** A real client (`ws` or `socket.io-client`) connected to a fixture app. */
export interface TestSocket {
  /** Sends `event` and resolves with the server's answer to it, or its `exception`. */
  request(event: string, data?: unknown): Promise<ServerMessage>;
  /** Resolves once the connection is closed, by either side. */
  readonly closed: Promise<Closed>;
  isOpen(): boolean;
  close(): void;
}

/** A handshake refused by the server: the HTTP status (ws) or socket.io's error message. */
export class HandshakeRefused extends Error {
  constructor(
    readonly status: number | null,
    message: string,
  ) {
    super(message);
  }
}

const ANSWER_TIMEOUT_MS = 5_000;

/** Opens a real client connection to `url` with the given handshake headers. */
export function connectSocket(
  platform: SocketPlatform,
  url: string,
  headers: Record<string, string> = {},
  options: { socketIoTransports?: ('polling' | 'websocket')[] } = {},
): Promise<TestSocket> {
  return platform === 'ws'
    ? connectWs(url, headers)
    : connectSocketIo(url, headers, options.socketIoTransports);
}

function connectWs(url: string, headers: Record<string, string>): Promise<TestSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url.replace(/^http/, 'ws'), { headers });
    const inbox = new Inbox();
    const closed = new Promise<Closed>((done) =>
      ws.once('close', (code, reason) =>
        done({ code, reason: reason.toString(), at: performance.now() }),
      ),
    );
    ws.on('message', (raw) => inbox.push(JSON.parse(raw.toString()) as ServerMessage));
    ws.once('unexpected-response', (_request, response) => {
      reject(new HandshakeRefused(response.statusCode ?? null, `HTTP ${response.statusCode}`));
      ws.terminate();
    });
    ws.once('error', (error) => reject(error));
    ws.once('open', () =>
      resolve({
        request: (event, data) => {
          const answer = inbox.next(event);
          ws.send(JSON.stringify({ event, data }));
          return answer;
        },
        closed,
        isOpen: () => ws.readyState === WebSocket.OPEN,
        close: () => ws.close(),
      }),
    );
  });
}

function connectSocketIo(
  url: string,
  headers: Record<string, string>,
  transports: ('polling' | 'websocket')[] = ['polling', 'websocket'],
): Promise<TestSocket> {
  return new Promise((resolve, reject) => {
    const socket: Socket = io(url, {
      extraHeaders: headers,
      transports,
      reconnection: false,
      forceNew: true,
    });
    const inbox = new Inbox();
    const closed = new Promise<Closed>((done) =>
      socket.once('disconnect', (reason) => done({ code: null, reason, at: performance.now() })),
    );
    socket.onAny((event: string, data: unknown) => inbox.push({ event, data }));
    socket.once('connect_error', (error) => {
      const status = (error as { context?: { status?: number } }).context?.status ?? null;
      reject(new HandshakeRefused(status, error.message));
      socket.close();
    });
    socket.once('connect', () =>
      resolve({
        request: (event, data) => {
          const answer = inbox.next(event);
          socket.emit(event, data);
          return answer;
        },
        closed,
        isOpen: () => socket.connected,
        close: () => socket.close(),
      }),
    );
  });
}

/** Messages received, handed to whoever waits for an event (or its exception). */
class Inbox {
  private readonly waiting: { event: string; done: (message: ServerMessage) => void }[] = [];
  private readonly unclaimed: ServerMessage[] = [];

  push(message: ServerMessage): void {
    const index = this.waiting.findIndex(
      (waiter) => waiter.event === message.event || message.event === 'exception',
    );
    if (index === -1) {
      this.unclaimed.push(message);
      return;
    }
    const [waiter] = this.waiting.splice(index, 1);
    waiter.done(message);
  }

  next(event: string): Promise<ServerMessage> {
    const index = this.unclaimed.findIndex(
      (message) => message.event === event || message.event === 'exception',
    );
    if (index !== -1) {
      return Promise.resolve(this.unclaimed.splice(index, 1)[0]);
    }
    return new Promise((done, fail) => {
      const timer = setTimeout(
        () => fail(new Error(`No answer to '${event}' within ${ANSWER_TIMEOUT_MS} ms`)),
        ANSWER_TIMEOUT_MS,
      );
      this.waiting.push({
        event,
        done: (message) => {
          clearTimeout(timer);
          done(message);
        },
      });
    });
  }
}

/** Resolves with what `closed` resolves to, or `null` when it takes longer than `ms`. */
export function closedWithin(socket: TestSocket, ms: number): Promise<Closed | null> {
  return Promise.race([
    socket.closed,
    new Promise<null>((done) => setTimeout(() => done(null), ms).unref()),
  ]);
}
