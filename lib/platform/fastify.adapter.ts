import type { IncomingMessage } from 'node:http';
import { PRIVATE_NO_STORE, type SessionExchange } from '../core/session-exchange.js';
import type { SessionRuntime } from '../core/session-runtime.js';
import { SessionState } from '../core/session-state.js';
import { commitFailureAnswer, REPLACED_BODY_HEADERS, withSessionCookie } from './http-response.js';
import { bindSession, boundSessionOf } from './request-binding.js';

/** The parts of a Fastify request the session uses (no dependency on the `fastify` types). */
interface FastifyRequestLike {
  readonly raw: IncomingMessage;
  /** `'http'` or `'https'`, honouring Fastify's `trustProxy`. */
  readonly protocol: string;
  readonly hostname: string;
  /** The client address, honouring Fastify's `trustProxy`. */
  readonly ip: string;
  readonly headers: Record<string, string | string[] | undefined>;
}

/** The parts of a Fastify reply the session uses. */
interface FastifyReplyLike {
  readonly statusCode: number;
  code(status: number): unknown;
  header(name: string, value: string): unknown;
  getHeader(name: string): string | string[] | number | undefined;
  removeHeader(name: string): unknown;
}

type Done = (error?: Error | null, payload?: unknown) => void;

/** The parts of a Fastify instance the session uses. */
export interface FastifyInstanceLike {
  addHook(
    name: 'onRequest' | 'preHandler',
    hook: (request: FastifyRequestLike, reply: FastifyReplyLike, done: Done) => void,
  ): unknown;
  addHook(
    name: 'onSend',
    hook: (
      request: FastifyRequestLike,
      reply: FastifyReplyLike,
      payload: unknown,
      done: Done,
    ) => void,
  ): unknown;
}

type RequestHook = (request: FastifyRequestLike, reply: FastifyReplyLike, done: Done) => unknown;

/**
 * Nest's Fastify adapter runs one application `onRequest` hook before its middleware (middie);
 * hooks added to the instance run after it.
 */
export interface FastifyAdapterLike {
  readonly onRequestHook?: RequestHook;
  setOnRequestHook(hook: RequestHook): void;
}

/**
 * Fastify: a session per request but WebSocket handshakes, bound before Nest's middleware run
 * (the adapter's `onRequest` slot, chained to any hook already there; a plain `onRequest` hook
 * binds as a fallback if the slot is replaced later), the async context around middleware and
 * handler (`preHandler` enters it again after body parsing), and the save before the reply is
 * sent (`onSend`, where headers, status and payload can still change): a failed save replaces
 * the reply with its error.
 */
export function bindFastify(
  instance: FastifyInstanceLike,
  adapter: FastifyAdapterLike,
  runtime: SessionRuntime,
): void {
  const bind = (request: FastifyRequestLike, reply: FastifyReplyLike) => {
    // A WebSocket handshake (`@fastify/websocket` routes it like a request) gets no session: its
    // cookie would reach the socket's handlers without the handshake's Origin check, and it has
    // no reply to save in. The socket's adapter reads the session from the handshake itself.
    let state = boundSessionOf(request.raw);
    if (state === undefined && request.headers.upgrade?.toString().toLowerCase() !== 'websocket') {
      state = new SessionState(runtime, new FastifyExchange(request, reply));
      bindSession(request.raw, state);
    }
    return state;
  };
  const previous = adapter.onRequestHook;
  adapter.setOnRequestHook((request, reply, done) => {
    const state = bind(request, reply);
    // The hook's result goes back to Nest, which waits for a promise-style hook as it would.
    const next = () =>
      previous === undefined ? done() : previous.call(adapter, request, reply, done);
    return state === undefined ? next() : runtime.context.run(state, next);
  });
  instance.addHook('onRequest', (request, reply, done) => {
    bind(request, reply);
    done();
  });
  instance.addHook('preHandler', (request, _reply, done) => {
    const state = boundSessionOf(request.raw);
    if (state === undefined) {
      done();
      return;
    }
    runtime.context.run(state, done);
  });
  instance.addHook('onSend', (request, reply, payload, done) => {
    const state = boundSessionOf(request.raw);
    if (state === undefined || !state.isTouched || reply.statusCode >= 400) {
      done(null, payload);
      return;
    }
    state.commit().then(
      () => done(null, payload),
      (error: unknown) => {
        const answer = commitFailureAnswer(error);
        reply.code(answer.status);
        for (const header of REPLACED_BODY_HEADERS) {
          reply.removeHeader(header);
        }
        reply.header('content-type', 'application/json; charset=utf-8');
        done(null, answer.body);
      },
    );
  });
}

/** A Fastify request and reply as the session core sees them. */
class FastifyExchange implements SessionExchange {
  readonly respondable = true;

  constructor(
    private readonly request: FastifyRequestLike,
    private readonly reply: FastifyReplyLike,
  ) {}

  header(name: string): string | undefined {
    const value = this.request.headers[name];
    return Array.isArray(value) ? value[0] : value;
  }

  setCookie(name: string, setCookie: string): void {
    const cookies = withSessionCookie(this.reply.getHeader('set-cookie'), name, setCookie);
    this.reply.removeHeader('set-cookie');
    for (const entry of cookies) {
      this.reply.header('set-cookie', entry);
    }
    this.reply.header('cache-control', PRIVATE_NO_STORE);
  }

  /** Fastify's `protocol` and `hostname` honour its `trustProxy` option. */
  clientOrigin(): { secure: boolean; hostname: string } {
    return { secure: this.request.protocol === 'https', hostname: this.request.hostname };
  }

  /** Fastify's `ip` honours its `trustProxy` option. */
  clientAddress(): string {
    return this.request.ip;
  }

  setHeader(name: string, value: string): void {
    this.reply.header(name, value);
  }

  commitBeforeSend(): void {
    // The `onSend` hook saves every session the request touched.
  }
}
