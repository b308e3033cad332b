import type { IncomingMessage, ServerResponse } from 'node:http';
import { RequestSession } from './core/request-session.js';
import { attachRequestSession, type SessionRuntime } from './core/session-runtime.js';

/** A plain (Express-style) middleware: `(request, response, next) => void`. */
export type SessionMiddleware = (
  request: IncomingMessage,
  response: ServerResponse,
  next: () => void,
) => void;

/**
 * The middleware that gives each request its (not yet loaded) session and the async context
 * `SessionService` reads. Does no I/O: loading waits for the first use.
 */
export function createSessionMiddleware(runtime: SessionRuntime): SessionMiddleware {
  return (request, response, next) => {
    const session = new RequestSession(runtime, request, response);
    attachRequestSession(request, session);
    runtime.context.run(session, next);
  };
}
