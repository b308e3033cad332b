import { Inject, Injectable, type NestMiddleware } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RequestSession } from './core/request-session.js';
import {
  attachRequestSession,
  SESSION_RUNTIME,
  type SessionRuntime,
} from './core/session-runtime.js';

/**
 * Gives each request its (not yet loaded) session and the async context `SessionService` reads.
 * Does no I/O: loading waits for the first use.
 */
@Injectable()
export class SessionMiddleware implements NestMiddleware {
  constructor(@Inject(SESSION_RUNTIME) private readonly runtime: SessionRuntime) {}

  use(request: IncomingMessage, response: ServerResponse, next: () => void): void {
    const session = new RequestSession(this.runtime, request, response);
    attachRequestSession(request, session);
    this.runtime.context.run(session, next);
  }
}
