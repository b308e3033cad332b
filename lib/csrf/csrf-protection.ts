import {
  ForbiddenException,
  HttpStatus,
  Inject,
  Injectable,
  type ExecutionContext,
} from '@nestjs/common';
import { SESSION_RUNTIME, type SessionRuntime } from '../core/session-runtime.js';
import type { ContextSession } from '../platform/execution-context.js';
import { RoutePolicies } from '../route-policy.js';
import { verifyCsrfToken } from './csrf-token.js';
import { originRefusal } from './request-origin.js';

/**
 * Refuses cross-site requests that ride on the session cookie, in three layers, on unsafe
 * operations only (POST, PUT, PATCH, DELETE, …, and GraphQL mutations):
 * 1. Fetch Metadata: `Sec-Fetch-Site: cross-site` is refused; `same-site` only from a trusted origin.
 * 2. `Origin`: when sent, it must be the app's own (same host) or listed in `trustedOrigins`;
 *    `null` is refused.
 * 3. A live cookie session requires its CSRF token in the header or form field (never a cookie).
 * A request whose session a valid bearer token authenticated carries no ambient credential and
 * is exempt (any other `Authorization` header exempts nothing); so are routes marked `@SkipCsrf()`. A GraphQL mutation sent as `GET` is refused.
 * Run by `SessionRequestGuard` on every route and resolver.
 */
@Injectable()
export class CsrfProtection {
  constructor(
    @Inject(RoutePolicies) protected readonly policies: RoutePolicies,
    @Inject(SESSION_RUNTIME) protected readonly runtime: SessionRuntime,
  ) {}

  /** Whether any request may need checking: CSRF protection on, and a cookie that may ride. */
  get enabled(): boolean {
    const { csrf, transports } = this.runtime.options;
    return csrf.enabled && transports.cookie;
  }

  /** Whether this request needs checking at all: an unsafe operation where a cookie may ride. */
  applies(request: ContextSession): boolean {
    return this.enabled && request.unsafe;
  }

  /** Throws `403` for a request that may be forged. Call only when `applies()` is true. */
  async check(context: ExecutionContext, request: ContextSession): Promise<void> {
    const { csrf } = this.runtime.options;
    if (this.policies.of(context).skipCsrf) {
      return;
    }
    const session = request.state;
    if (session.usesHeaderTransport()) {
      // Exempt only when a valid bearer token authenticated the session: it carries no ambient
      // credential. Any other `Authorization` header proves nothing about where the request came from.
      await session.load();
      if (session.hasStoredSession() && session.isAuthenticated) {
        return;
      }
    }
    if (request.viaGet) {
      throw this.refusal('A state-changing operation must not be sent with GET');
    }
    const refusal = originRefusal(request.header, csrf.trustedOrigins);
    if (refusal !== null) {
      throw this.refusal(refusal);
    }
    await session.load();
    if (session.hasStoredSession() && !this.hasValidToken(request, session.csrfSubject())) {
      throw this.refusal(
        `Missing or invalid CSRF token: send it in the '${csrf.headerName}' header or the '${csrf.fieldName}' field`,
      );
    }
  }

  private hasValidToken(request: ContextSession, sessionId: string): boolean {
    const { headerName, fieldName } = this.runtime.options.csrf;
    const candidate = request.header(headerName) ?? request.field(fieldName);
    return verifyCsrfToken(candidate, sessionId, this.runtime.options.keys.csrf);
  }

  private refusal(message: string): ForbiddenException {
    return new ForbiddenException({
      statusCode: HttpStatus.FORBIDDEN,
      error: 'Forbidden',
      message,
    });
  }
}
