import {
  ConflictException,
  HttpStatus,
  PayloadTooLargeException,
  ServiceUnavailableException,
  UnauthorizedException,
} from '@nestjs/common';

/**
 * The session data would be larger than `maxDataSize`. Answers `413`. Thrown by
 * `session.set()` (naming the key), and by a store's `update` when this request's delta and
 * the changes other requests saved meanwhile add up past the limit (`key` is then `null`).
 */
export class SessionDataTooLargeError extends PayloadTooLargeException {
  constructor(key: string | null, size: number, limit: number) {
    const after = key === null ? "this request's changes" : `setting '${key}'`;
    super({
      statusCode: HttpStatus.PAYLOAD_TOO_LARGE,
      error: 'Session Data Too Large',
      message: `Session data would be ${size} bytes after ${after}, over the ${limit}-byte maxDataSize; the session was left unchanged`,
    });
    this.name = 'SessionDataTooLargeError';
  }
}

/**
 * The session ended (logged out, revoked, evicted by `maxSessionsPerUser`, expired) while this
 * request was using it, so what the request would have saved is dropped: no new session, no
 * cookie, and the response becomes this `401`. Stores reject `set` (with `replaces`), `update`
 * and `touch` with it, rather than write to a session that is gone.
 */
export class SessionRevokedError extends UnauthorizedException {
  constructor() {
    super({
      statusCode: HttpStatus.UNAUTHORIZED,
      error: 'Unauthorized',
      message:
        'The session ended (logout, revocation, session limit or expiry) while this request was in flight; nothing was saved. Sign in again',
    });
    this.name = 'SessionRevokedError';
  }
}

/** Stateless mode: the sealed session would not fit in a cookie. Answers `413`. */
export class SessionCookieTooLargeError extends PayloadTooLargeException {
  constructor(size: number, limit: number) {
    super({
      statusCode: HttpStatus.PAYLOAD_TOO_LARGE,
      error: 'Session Cookie Too Large',
      message: `The sealed session cookie would be ${size} bytes, over the ${limit}-byte limit browsers keep; store less in the session or use a server-side store`,
    });
    this.name = 'SessionCookieTooLargeError';
  }
}

/** The session store failed or timed out. Answers `503`: the request fails closed. */
export class SessionStoreUnavailableError extends ServiceUnavailableException {
  constructor(cause?: unknown) {
    super(
      {
        statusCode: HttpStatus.SERVICE_UNAVAILABLE,
        error: 'Service Unavailable',
        message: 'The session store is unavailable; try again shortly',
      },
      { cause },
    );
    this.name = 'SessionStoreUnavailableError';
  }
}

/** A `SessionService` method that needs a request was called outside one. */
export class NoSessionContextError extends Error {
  constructor(method: string) {
    super(
      `SessionService.${method}() was called outside an HTTP request handled by SessionModule; call it from a controller, guard or provider during a request`,
    );
    this.name = 'NoSessionContextError';
  }
}

/**
 * Awaits a store operation; a failure becomes `SessionStoreUnavailableError` (fail closed).
 * The answers the contract gives stores (limit reached, session ended, data too large) pass
 * through as they are.
 */
export async function failClosed<T>(operation: Promise<T>): Promise<T> {
  try {
    return await operation;
  } catch (error) {
    throw isStoreAnswer(error) ? error : new SessionStoreUnavailableError(error);
  }
}

/** Whether a store's rejection is an answer the contract gives (not a failure of the store). */
export function isStoreAnswer(error: unknown): boolean {
  return (
    error instanceof SessionLimitExceededError ||
    error instanceof SessionRevokedError ||
    error instanceof SessionDataTooLargeError
  );
}

/**
 * A login was refused because the user already holds `maxSessionsPerUser` sessions and the
 * policy is `'refuse'`. Answers `409`. Stores reject `set()` with it.
 */
export class SessionLimitExceededError extends ConflictException {
  constructor(limit: number) {
    super({
      statusCode: HttpStatus.CONFLICT,
      error: 'Session Limit Exceeded',
      message: `This account already has ${limit} active session(s); log out of one to log in here`,
    });
    this.name = 'SessionLimitExceededError';
  }
}

/**
 * A rotated-out session token came back after its grace window (`rotateEvery`): taken for a
 * stolen copy, the whole session was revoked. Answers `401`; the presented cookie is cleared.
 * The message names no token and no id.
 */
export class SessionTheftDetectedError extends UnauthorizedException {
  constructor() {
    super({
      statusCode: HttpStatus.UNAUTHORIZED,
      error: 'Unauthorized',
      message:
        'This session token was replaced by a newer one and then used again: the session was ended for safety. Sign in again',
    });
    this.name = 'SessionTheftDetectedError';
  }
}
