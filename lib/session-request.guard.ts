import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { CsrfProtection } from './csrf/csrf-protection.js';
import { contextSessionOf, type ContextSession } from './platform/execution-context.js';
import { RoutePolicies } from './route-policy.js';

/**
 * The global guard `SessionModule` registers on every route and resolver: the CSRF checks of
 * unsafe operations, and the loading of the session for handlers that take `@Session()`.
 * Anything else passes synchronously, with no promise and no store call. A context without a
 * session has nothing for it to protect or load: `SessionGuard` and `@Session()` deny there.
 */
@Injectable()
export class SessionRequestGuard implements CanActivate {
  constructor(
    @Inject(RoutePolicies) private readonly policies: RoutePolicies,
    @Inject(CsrfProtection) private readonly csrf: CsrfProtection,
  ) {}

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    const takesSession = this.policies.of(context).takesSession;
    if (!takesSession && !this.csrf.enabled) {
      return true;
    }
    const request = contextSessionOf(context);
    if (typeof request === 'string') {
      return true;
    }
    if (this.csrf.applies(request)) {
      return this.checkThenLoad(context, request);
    }
    if (takesSession && !request.state.isReady) {
      return request.state.load().then(passes);
    }
    return true;
  }

  private async checkThenLoad(
    context: ExecutionContext,
    request: ContextSession,
  ): Promise<boolean> {
    await this.csrf.check(context, request);
    await request.state.load();
    return true;
  }
}

const passes = (): true => true;
