import type { IncomingMessage, ServerResponse } from 'node:http';
import { PRIVATE_NO_STORE, type SessionExchange } from '../core/session-exchange.js';
import type { SessionRuntime } from '../core/session-runtime.js';
import { SessionState } from '../core/session-state.js';
import {
  commitFailureAnswer,
  hostnameOf,
  REPLACED_BODY_HEADERS,
  withSessionCookie,
} from './http-response.js';
import { bindSession } from './request-binding.js';

/** A plain (Express-style) middleware: `(request, response, next) => void`. */
export type SessionMiddleware = (
  request: IncomingMessage,
  response: ServerResponse,
  next: () => void,
) => void;

/**
 * Express (and any node `http` framework): gives each request its (not yet loaded) session
 * and the async context `SessionService` reads. Does no I/O: loading waits for the first use.
 */
export function createExpressMiddleware(runtime: SessionRuntime): SessionMiddleware {
  return (request, response, next) => {
    const state = new SessionState(runtime, new NodeHttpExchange(request, response));
    bindSession(request, state);
    runtime.context.run(state, next);
  };
}

/** A node `http` request and response as the session core sees them. */
export class NodeHttpExchange implements SessionExchange {
  readonly respondable = true;

  constructor(
    private readonly request: IncomingMessage,
    private readonly response: ServerResponse,
  ) {}

  header(name: string): string | undefined {
    const value = this.request.headers[name];
    return Array.isArray(value) ? value[0] : value;
  }

  setCookie(name: string, setCookie: string): void {
    const response = this.response;
    if (response.headersSent) {
      return;
    }
    const cookies = withSessionCookie(response.getHeader('set-cookie'), name, setCookie);
    response.setHeader('set-cookie', cookies.length === 1 ? setCookie : cookies);
    response.setHeader('cache-control', PRIVATE_NO_STORE);
  }

  /** Express's `protocol` and `hostname` honour its `trust proxy` setting. */
  clientOrigin(): { secure: boolean; hostname: string } {
    const request = this.request as IncomingMessage & { protocol?: string; hostname?: string };
    const encrypted = (request.socket as { encrypted?: boolean } | undefined)?.encrypted === true;
    return {
      secure: request.protocol === undefined ? encrypted : request.protocol === 'https',
      hostname: request.hostname ?? hostnameOf(this.header('host')),
    };
  }

  /** Express's `ip` honours `trust proxy`; a bare node server has only the socket's peer. */
  clientAddress(): string | undefined {
    const request = this.request as IncomingMessage & { ip?: string };
    return request.ip ?? request.socket?.remoteAddress;
  }

  setHeader(name: string, value: string): void {
    if (!this.response.headersSent) {
      this.response.setHeader(name, value);
    }
  }

  /**
   * Holds the response's `end` until the session is saved, so a client that gets a `2xx` can
   * rely on the save. Installed on first use only: a request that never touches its session
   * keeps the response as it is. A response with an error status saves nothing (like a failed
   * transaction); a failed save replaces the response with the save's error (`503`, `413`).
   */
  commitBeforeSend(commit: () => Promise<void>): void {
    const response = this.response;
    const end = response.end;
    response.end = ((...args: Parameters<ServerResponse['end']>) => {
      response.end = end;
      const finish = () => end.apply(response, args);
      if (response.statusCode >= 400) {
        return finish();
      }
      commit().then(finish, (error: unknown) => {
        const answer = commitFailureAnswer(error);
        if (!response.headersSent) {
          response.statusCode = answer.status;
          for (const header of REPLACED_BODY_HEADERS) {
            response.removeHeader(header);
          }
          response.setHeader('content-type', 'application/json; charset=utf-8');
        }
        end.call(response, answer.body, 'utf8', () => undefined);
      });
      return response;
    }) as ServerResponse['end'];
  }
}
