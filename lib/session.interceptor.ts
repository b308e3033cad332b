import {
  Inject,
  Injectable,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { IncomingMessage } from 'node:http';
import { concatMap, from, of, type Observable } from 'rxjs';
import type { RequestSession } from './core/request-session.js';
import { requestSessionOf } from './core/session-runtime.js';
import { CsrfProtection } from './csrf/csrf-protection.js';
import { SESSION_PARAM_KEY } from './session.constants.js';

/**
 * The one global hook of `SessionModule`. Before the handler: the CSRF checks of unsafe
 * requests, and the loading of the session for handlers that take `@Session()`. After it:
 * the commit, before the response is written, so a client that gets a `2xx` can rely on the
 * save. A route that never touches its session goes through with no promise and no store call.
 */
@Injectable()
export class SessionInterceptor implements NestInterceptor {
  constructor(
    @Inject(Reflector) private readonly reflector: Reflector,
    @Inject(CsrfProtection) private readonly csrf: CsrfProtection,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const request =
      context.getType() === 'http'
        ? context.switchToHttp().getRequest<IncomingMessage>()
        : undefined;
    const session = request === undefined ? undefined : requestSessionOf(request);
    if (request === undefined || session === undefined) {
      return next.handle();
    }
    const checkCsrf = this.csrf.applies(request, session);
    const preload =
      !session.isLoaded &&
      this.reflector.get<boolean | undefined>(SESSION_PARAM_KEY, context.getHandler()) === true;
    const handled =
      checkCsrf || preload
        ? from(this.prepare(context, request, session, checkCsrf)).pipe(
            concatMap(() => next.handle()),
          )
        : next.handle();
    return handled.pipe(
      concatMap((value) =>
        session.isTouched ? from(session.commit().then(() => value)) : of(value),
      ),
    );
  }

  private async prepare(
    context: ExecutionContext,
    request: IncomingMessage,
    session: RequestSession,
    checkCsrf: boolean,
  ): Promise<void> {
    if (checkCsrf) {
      await this.csrf.check(context, request, session);
    }
    await session.load();
  }
}
