import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { IncomingMessage } from 'node:http';
import type { RequestSession } from './core/request-session.js';
import { requestSessionOf } from './core/session-runtime.js';
import { CsrfProtection } from './csrf/csrf-protection.js';
import { SESSION_PARAM_KEY } from './session.constants.js';

/**
 * The global guard `SessionModule` registers on every route: the CSRF checks of unsafe
 * requests, and the loading of the session for handlers that take `@Session()`. Anything else
 * passes synchronously, with no promise and no store call. (Saving happens when the response
 * ends: see `RequestSession.load`.)
 */
@Injectable()
export class SessionRequestGuard implements CanActivate {
  constructor(
    @Inject(Reflector) private readonly reflector: Reflector,
    @Inject(CsrfProtection) private readonly csrf: CsrfProtection,
  ) {}

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    if (context.getType() !== 'http') {
      return true;
    }
    const request = context.switchToHttp().getRequest<IncomingMessage>();
    const session = requestSessionOf(request);
    if (session === undefined) {
      return true;
    }
    const checkCsrf = this.csrf.applies(request, session);
    const preload =
      !session.isLoaded &&
      this.reflector.get<boolean | undefined>(SESSION_PARAM_KEY, context.getHandler()) === true;
    return checkCsrf || preload ? this.prepare(context, request, session, checkCsrf) : true;
  }

  private async prepare(
    context: ExecutionContext,
    request: IncomingMessage,
    session: RequestSession,
    checkCsrf: boolean,
  ): Promise<boolean> {
    if (checkCsrf) {
      await this.csrf.check(context, request, session);
    }
    await session.load();
    return true;
  }
}
