import {
  ForbiddenException,
  HttpStatus,
  Inject,
  Injectable,
  type ExecutionContext,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { IncomingMessage } from 'node:http';
import type { RequestSession } from '../core/request-session.js';
import { SESSION_RUNTIME, type SessionRuntime } from '../core/session-runtime.js';
import { SKIP_CSRF_KEY } from '../session.constants.js';
import { verifyCsrfToken } from './csrf-token.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);

/**
 * Refuses cross-site requests that ride on the session cookie, in three layers, on unsafe
 * methods only (POST, PUT, PATCH, DELETE, …):
 * 1. Fetch Metadata: `Sec-Fetch-Site: cross-site` is refused; `same-site` only from a trusted origin.
 * 2. `Origin`: when sent, it must be the app's own (same host) or listed in `trustedOrigins`;
 *    `null` is refused.
 * 3. A live cookie session requires its CSRF token in the header or form field (never a cookie).
 * Requests authenticated by the `Authorization` header carry no ambient credentials and are
 * exempt; so are routes marked `@SkipCsrf()`. Run by `SessionRequestGuard` on every route.
 */
@Injectable()
export class CsrfProtection {
  constructor(
    protected readonly reflector: Reflector,
    @Inject(SESSION_RUNTIME) protected readonly runtime: SessionRuntime,
  ) {}

  /** Whether this request needs checking at all: an unsafe method on a cookie session. */
  applies(request: IncomingMessage, session: RequestSession): boolean {
    return (
      this.runtime.options.csrf.enabled &&
      !SAFE_METHODS.has(request.method ?? 'GET') &&
      !session.usesHeaderTransport()
    );
  }

  /** Throws `403` for a request that may be forged. Call only when `applies()` is true. */
  async check(
    context: ExecutionContext,
    request: IncomingMessage & { body?: unknown },
    session: RequestSession,
  ): Promise<void> {
    const { csrf } = this.runtime.options;
    if (
      this.reflector.getAllAndOverride<boolean | undefined>(SKIP_CSRF_KEY, [
        context.getHandler(),
        context.getClass(),
      ]) === true
    ) {
      return;
    }
    const origin = request.headers.origin;
    const fetchSite = request.headers['sec-fetch-site'];
    if (fetchSite === 'cross-site' || (fetchSite === 'same-site' && !this.isTrusted(origin))) {
      throw this.refusal(`Cross-site request refused (Sec-Fetch-Site: ${fetchSite})`);
    }
    if (origin !== undefined && !this.isOwnOrigin(origin, request) && !this.isTrusted(origin)) {
      throw this.refusal('Request from an untrusted origin refused');
    }
    await session.load();
    if (session.hasStoredSession() && !this.hasValidToken(request, session.id)) {
      throw this.refusal(
        `Missing or invalid CSRF token: send it in the '${csrf.headerName}' header or the '${csrf.fieldName}' field`,
      );
    }
  }

  /** Whether the origin is listed in `trustedOrigins` (exact match). */
  protected isTrusted(origin: string | undefined): boolean {
    return origin !== undefined && this.runtime.options.csrf.trustedOrigins.has(origin);
  }

  /** Whether the origin names the host the request was sent to. */
  protected isOwnOrigin(origin: string, request: IncomingMessage): boolean {
    if (origin === 'null' || request.headers.host === undefined) {
      return false;
    }
    try {
      return new URL(origin).host === request.headers.host.toLowerCase();
    } catch {
      return false;
    }
  }

  private hasValidToken(request: IncomingMessage & { body?: unknown }, sessionId: string): boolean {
    const { headerName, fieldName } = this.runtime.options.csrf;
    const body = request.body;
    const candidate =
      request.headers[headerName] ??
      (typeof body === 'object' && body !== null && Object.hasOwn(body, fieldName)
        ? (body as Record<string, unknown>)[fieldName]
        : undefined);
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
