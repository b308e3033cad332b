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
import { requestSessionOf } from './core/session-runtime.js';
import { SESSION_PARAM_KEY } from './session.constants.js';

/**
 * Loads the session before handlers that take `@Session()`, and commits it after the handler
 * returns, before the response is written: a client that gets a `2xx` can rely on the save.
 * Registered globally by `SessionModule`.
 */
@Injectable()
export class SessionInterceptor implements NestInterceptor {
  constructor(@Inject(Reflector) private readonly reflector: Reflector) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const session =
      context.getType() === 'http'
        ? requestSessionOf(context.switchToHttp().getRequest<IncomingMessage>())
        : undefined;
    if (session === undefined) {
      return next.handle();
    }
    // A session nothing touched has nothing to commit: no promise, no store call.
    const commitAfter = (value: unknown) =>
      session.isTouched ? from(session.commit().then(() => value)) : of(value);
    if (
      this.reflector.get<boolean | undefined>(SESSION_PARAM_KEY, context.getHandler()) === true &&
      !session.isLoaded
    ) {
      return from(session.load()).pipe(
        concatMap(() => next.handle()),
        concatMap(commitAfter),
      );
    }
    return next.handle().pipe(concatMap(commitAfter));
  }
}
