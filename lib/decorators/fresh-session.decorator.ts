import { SetMetadata } from '@nestjs/common';
import type { Duration } from '../interfaces/session-module-options.interface.js';
import { toMilliseconds } from '../options/duration.js';
import { FRESH_SESSION_KEY } from '../session.constants.js';

/**
 * Requires a login no older than `maxAge` (a password change, a payment). `SessionGuard` answers
 * `401` with `reauthenticate: true` otherwise, so the client can ask for the password again.
 *
 * @example
 * ```ts
 * @FreshSession('5m')
 * @Post('password')
 * changePassword() { ... }
 * ```
 */
export const FreshSession = (maxAge: Duration) => {
  const maxAgeMs = toMilliseconds(maxAge);
  if (Number.isNaN(maxAgeMs)) {
    throw new TypeError(
      `@FreshSession() needs a duration such as '5m', not ${JSON.stringify(maxAge)}`,
    );
  }
  return SetMetadata(FRESH_SESSION_KEY, maxAgeMs);
};
