import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import { requestSessionOf } from '../core/session-runtime.js';
import { SESSION_PARAM_KEY } from '../session.constants.js';

const sessionParam = createParamDecorator((_data: unknown, context: ExecutionContext) =>
  requestSessionOf(context.switchToHttp().getRequest<IncomingMessage>()),
);

/**
 * Injects the current session (`SessionHandle`), loaded before the handler runs.
 * Not to be confused with `@nestjs/common`'s `Session` (express-session's `req.session`):
 * import this one from `nest-secure-session`, or alias it: `import { Session as UserSession }`.
 *
 * @example
 * ```ts
 * @Get('me')
 * me(@Session() session: SessionHandle) {
 *   return { userId: session.userId };
 * }
 * ```
 */
export const Session = (): ParameterDecorator => (target, propertyKey, parameterIndex) => {
  sessionParam()(target, propertyKey, parameterIndex);
  if (propertyKey !== undefined) {
    const handler = (target as Record<string | symbol, object>)[propertyKey];
    Reflect.defineMetadata(SESSION_PARAM_KEY, true, handler);
  }
};
