import {
  ForbiddenException,
  HttpStatus,
  Inject,
  Injectable,
  UnauthorizedException,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { SessionHandle } from './core/session-handle.js';
import { SESSION_RUNTIME, type SessionRuntime } from './core/session-runtime.js';
import type { SessionState } from './core/session-state.js';
import { contextSessionOf, missingSessionDenial } from './platform/execution-context.js';
import { RoutePolicies } from './route-policy.js';

/**
 * Lets a request through only with a live, logged-in session: `401` without one, `403` when
 * `@Roles()` lists a role the session lacks, `401` with `reauthenticate: true` when
 * `@FreshSession()` wants a more recent login. `@Public()` routes pass untouched (no store I/O).
 * Works on routes, resolvers and gateway messages alike; in a context it cannot serve (or a
 * request without a session) it denies, never passes.
 *
 * Each decision is a protected method, so an app can extend the guard and change one.
 *
 * @example
 * ```ts
 * @UseGuards(SessionGuard)
 * @Controller('account')
 * export class AccountController { ... }
 * ```
 */
@Injectable()
export class SessionGuard implements CanActivate {
  private readonly policies: RoutePolicies;

  constructor(
    protected readonly reflector: Reflector,
    @Inject(SESSION_RUNTIME) protected readonly runtime: SessionRuntime,
  ) {
    this.policies = new RoutePolicies(reflector);
  }

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    // Public routes pass synchronously: no promise, no session work.
    if (this.isPublic(context)) {
      return true;
    }
    const request = contextSessionOf(context);
    if (typeof request === 'string') {
      throw missingSessionDenial(request);
    }
    const session = request.state;
    // Already loaded (the global guard loads it for a handler that takes @Session()): decide
    // now, with no promise for Nest to wait on.
    if (session.isReady) {
      return this.checkSession(context, session);
    }
    return session.load().then(() => this.checkSession(context, session));
  }

  /** The decision on a loaded session: `true`, or the `401` / `403` it answers. */
  private checkSession(context: ExecutionContext, session: SessionState): true {
    if (!session.isAuthenticated) {
      throw new UnauthorizedException({
        statusCode: HttpStatus.UNAUTHORIZED,
        error: 'Unauthorized',
        message: 'A valid session is required: log in first',
      });
    }
    const requiredRoles = this.requiredRoles(context);
    if (requiredRoles.length > 0 && !this.hasRoles(session, requiredRoles)) {
      throw new ForbiddenException({
        statusCode: HttpStatus.FORBIDDEN,
        error: 'Forbidden',
        message: `This route requires the role(s): ${requiredRoles.join(', ')}`,
      });
    }
    if (this.requiresDeviceBinding(context) && !session.isDeviceBound) {
      throw new UnauthorizedException({
        statusCode: HttpStatus.UNAUTHORIZED,
        error: 'Unauthorized',
        message:
          'This route requires a device-bound session (DBSC): use a browser that supports it',
      });
    }
    const freshFor = this.policies.of(context).freshForMs;
    if (freshFor !== undefined && !this.isFresh(session, freshFor)) {
      throw new UnauthorizedException({
        statusCode: HttpStatus.UNAUTHORIZED,
        error: 'Unauthorized',
        message: 'This operation needs a recent login: authenticate again',
        reauthenticate: true,
      });
    }
    return true;
  }

  /**
   * Whether the route needs no session: `@Public()` on it or its controller, unless the route
   * demands roles or freshness. The handler's own level decides before its class's; on one
   * level, `@Roles()` or `@FreshSession()` beats `@Public()`.
   */
  protected isPublic(context: ExecutionContext): boolean {
    return this.policies.of(context).isPublic;
  }

  /**
   * Whether the route wants a device-bound session: `@DeviceBound()` on it (or its controller),
   * else the module's `deviceBound.policy`. `'require'` without `deviceBound` denies (fail closed).
   */
  protected requiresDeviceBinding(context: ExecutionContext): boolean {
    const policy =
      this.policies.of(context).deviceBound ?? this.runtime.options.deviceBound?.policy;
    return policy === 'require';
  }

  /** Roles `@Roles()` asks for on the route (or, failing that, its controller). */
  protected requiredRoles(context: ExecutionContext): readonly string[] {
    return this.policies.of(context).roles;
  }

  /** Whether the session holds every required role. */
  protected hasRoles(session: SessionHandle, requiredRoles: readonly string[]): boolean {
    const roles = session.get('roles');
    return Array.isArray(roles) && requiredRoles.every((role) => roles.includes(role));
  }

  /**
   * Whether the last login is at most `maxAgeMs` old, and no hijack signal asked for a new one
   * since (`stepUpRequired`).
   */
  protected isFresh(session: SessionHandle, maxAgeMs: number): boolean {
    const authenticatedAt = session.authenticatedAt;
    return (
      authenticatedAt !== null &&
      !session.stepUpRequired &&
      this.runtime.now() - authenticatedAt.getTime() <= maxAgeMs
    );
  }
}
