import type { TokenCarrier } from './carriers/token-carrier.js';
import type { SessionExchange } from './session-exchange.js';
import type { SessionRuntime } from './session-runtime.js';
import type { LoginOptions } from './session-state.js';

const MAX_USER_ID_LENGTH = 256;

/**
 * A user id as sessions keep it: a string of 1 to 256 characters, or a safe integer (a database
 * key), kept as its decimal string. Anything else is a `TypeError`.
 */
export function userIdOf(userId: unknown, method = 'login'): string {
  if (typeof userId === 'number' && Number.isSafeInteger(userId)) {
    return String(userId);
  }
  if (typeof userId !== 'string' || userId.length === 0 || userId.length > MAX_USER_ID_LENGTH) {
    throw new TypeError(
      `${method}() needs a userId string of 1 to ${MAX_USER_ID_LENGTH} characters, or a safe integer`,
    );
  }
  return userId;
}

/**
 * The carrier a `login()` hands its new session to, after checking the call: a transport the
 * options allow, and a response to carry a cookie.
 */
export function loginCarrier(
  runtime: SessionRuntime,
  exchange: SessionExchange,
  options: LoginOptions,
): TokenCarrier {
  const transport = options.transport ?? 'cookie';
  const carrier = runtime.carriers[transport];
  if (carrier === undefined) {
    throw new TypeError(
      `login() with transport '${transport}' needs '${transport}' in the SessionModule transport option`,
    );
  }
  if (transport === 'cookie' && !exchange.respondable) {
    throw new TypeError(
      "login() here has no HTTP response to set the cookie on: use login(userId, data, { transport: 'header' }) and hand the client session.bearerToken, or log in over HTTP",
    );
  }
  return carrier;
}
