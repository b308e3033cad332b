import type { SessionData } from '../interfaces/session-data.interface.js';

/**
 * The current request's session, given by `@Session()` and `SessionService.current()`.
 * Changes are saved when the handler returns, before the response is sent.
 *
 * @example
 * ```ts
 * @Get('cart')
 * cart(@Session() session: SessionHandle) {
 *   return session.get('cart') ?? [];
 * }
 * ```
 */
export abstract class SessionHandle {
  /** Public id of the session: safe to show and to pass to `revoke()`; never the token. */
  abstract readonly id: string;
  /** The logged-in user, or `null` for an anonymous session. */
  abstract readonly userId: string | null;
  /** `true` once `login()` has run for this session. */
  abstract readonly isAuthenticated: boolean;
  /** A read-only snapshot of the data. Use `set()` to change it. */
  abstract readonly data: Readonly<Partial<SessionData>>;
  /** When the session was created. */
  abstract readonly createdAt: Date;
  /** Last recorded activity (recorded at most every `touchAfter`). */
  abstract readonly lastSeenAt: Date;
  /** When the user last logged in, or `null` while anonymous. */
  abstract readonly authenticatedAt: Date | null;
  /**
   * This session's CSRF token, for the `x-csrf-token` header or the `_csrf` form field of
   * unsafe requests. Changes with the session id (at login and `regenerate()`).
   */
  abstract readonly csrfToken: string;
  /**
   * The token for `Authorization: Bearer`, when this session travels in the header (after
   * `login(…, { transport: 'header' })`); `null` for cookie sessions, whose token scripts never see.
   */
  abstract readonly bearerToken: string | null;

  /**
   * `true` when hijack signals (`policy: 'step-up'`) saw the client change since the login:
   * `@FreshSession()` routes refuse the session until the user logs in again.
   */
  get stepUpRequired(): boolean {
    return false;
  }

  /** The value under `key`, or `undefined`. */
  abstract get<K extends keyof SessionData>(key: K): SessionData[K] | undefined;
  /**
   * Sets `key` (JSON-serializable values only). Throws `SessionDataTooLargeError` when the data
   * would pass `maxDataSize`, leaving the session as it was.
   */
  abstract set<K extends keyof SessionData>(key: K, value: SessionData[K]): void;
  /** Removes `key`. */
  abstract delete(key: keyof SessionData): void;
  /** Moves the session to a new token and id, keeping its data; the old id stops working. */
  abstract regenerate(): Promise<void>;
  /** Ends the session: deleted from the store now, cookie cleared on the response. */
  abstract destroy(): Promise<void>;
}
