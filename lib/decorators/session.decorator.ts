import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { contextSessionOf, missingSessionDenial } from '../platform/execution-context.js';
import { SESSION_PARAM_KEY } from '../session.constants.js';

const sessionParam = createParamDecorator((_data: unknown, context: ExecutionContext) => {
  const request = contextSessionOf(context);
  if (typeof request === 'string') {
    throw missingSessionDenial(request);
  }
  return request.state;
});

/**
 * Injects the current session (`SessionHandle`), loaded before the handler runs, in a
 * controller, a resolver or a gateway. Where the context has no session it denies (`401`).
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
