import { Inject, Injectable } from '@nestjs/common';
import { HeadersExchange, type PlainHeaders } from './core/headers.exchange.js';
import { userIdOf } from './core/login-carrier.js';
import { SessionState, type LoginOptions } from './core/session-state.js';
import { revocationUntil } from './core/revocation.js';
import type { SessionHandle } from './core/session-handle.js';
import { SESSION_RUNTIME, type SessionRuntime } from './core/session-runtime.js';
import { failClosed, NoSessionContextError } from './core/session.errors.js';
import { reportEnded } from './events/lifecycle-events.js';
import type { SessionData } from './interfaces/session-data.interface.js';

/** A session as listed for its user: public facts only, never a token. */
export interface SessionInfo {
  /** Public id, for `revoke()`. */
  id: string;
  createdAt: Date;
  lastSeenAt: Date;
  /** User agent of the client that logged in, truncated; `null` when it sent none. */
  userAgent: string | null;
}

/** A session loaded outside a request (`SessionService.fromHeaders`): saved only by `commit()`. */
export interface DetachedSession extends SessionHandle {
  /** Saves what changed, in one store call (rejects with `503` when the store fails). */
  commit(): Promise<void>;
}

/** Options of `revokeAllForUser`. */
export interface RevokeAllOptions {
  /** Public id of a session to keep (usually the caller's own). */
  except?: string;
}

/**
 * Sessions from any provider, without request scope: the current request's session is found
 * through async context.
 *
 * @example
 * ```ts
 * @Post('login')
 * async login(@Body() body: LoginDto) {
 *   const user = await this.users.verify(body.username, body.password);
 *   await this.sessions.login(user.id, { roles: user.roles });
 * }
 * ```
 */
@Injectable()
export class SessionService {
  constructor(@Inject(SESSION_RUNTIME) private readonly runtime: SessionRuntime) {}

  /** The current request's session, loaded. */
  async current(): Promise<SessionHandle> {
    const session = this.requestSession('current');
    await session.load();
    return session;
  }

  /**
   * Logs `userId` in. Always issues a new session token and deletes the old session (a token
   * planted before login is worthless after it); anonymous data survives only for the
   * `keepOnLogin` keys. Sets `authenticatedAt`.
   */
  async login(
    userId: string | number,
    data?: Partial<SessionData>,
    options?: LoginOptions,
  ): Promise<SessionHandle> {
    const session = this.requestSession('login');
    await session.login(userId, data, options);
    return session;
  }

  /**
   * A session from plain request headers (`cookie` or `authorization`), for a context with no
   * HTTP request of this module's: a microservice call, a custom transport, a worker handling
   * a forwarded request. Read-only unless the caller calls `commit()`; no cookie can be set.
   *
   * @example
   * ```ts
   * @MessagePattern('cart.add')
   * async add(@Payload() message: { headers: Record<string, string>; item: string }) {
   *   const session = await this.sessions.fromHeaders(message.headers);
   *   if (!session.isAuthenticated) throw new RpcException('login required');
   *   session.set('cart', [...(session.get('cart') ?? []), message.item]);
   *   await session.commit();
   * }
   * ```
   */
  async fromHeaders(headers: PlainHeaders): Promise<DetachedSession> {
    const state = new SessionState(this.runtime, new HeadersExchange(headers));
    await state.load();
    return state;
  }

  /** The current session's CSRF token (see `SessionHandle.csrfToken`). */
  async csrfToken(): Promise<string> {
    return (await this.current()).csrfToken;
  }

  /** Ends the current session: deleted from the store now, cookie cleared on the response. */
  async logout(): Promise<void> {
    await this.requestSession('logout').destroy();
  }

  /**
   * The user's live sessions, oldest first: at most `maxSessionsPerUser` (default 50), the
   * newest. Needs a server-side store: stateless sessions (`store: 'cookie'`) are not listed
   * anywhere, so this throws in that mode.
   */
  async listForUser(userId: string | number): Promise<SessionInfo[]> {
    const user = userIdOf(userId, 'listForUser');
    if (this.runtime.options.stateless) {
      throw new Error(
        "listForUser() needs a server-side store; with store: 'cookie' sessions are not listed anywhere",
      );
    }
    const limit = this.runtime.options.maxListedSessions;
    const records = await failClosed(this.runtime.store.listByUser(user, limit));
    // A store that ignores the limit is still held to it.
    return records.slice(Math.max(0, records.length - limit)).map((record) => ({
      id: record.id,
      createdAt: new Date(record.createdAt),
      lastSeenAt: new Date(record.lastSeenAt),
      userAgent: record.userAgent,
    }));
  }

  /**
   * Ends the session with this public id, wherever it is used. With `rotateEvery`, an id the
   * session has since been rotated away from (a listing read before the rotation) ends it too.
   */
  async revoke(sessionId: string): Promise<void> {
    if (this.runtime.options.stateless) {
      throw new Error(
        "revoke(id) needs a server-side store; with store: 'cookie' use logout() or revokeAllForUser()",
      );
    }
    await this.runtime.persistence.end([sessionId], this.runtime.now());
    reportEnded(this.runtime.events, 'revoke', null, [sessionId]);
  }

  /**
   * Ends every session of the user but `except`; returns how many were ended. In stateless
   * mode every session of the user created until now ends (including the caller's; `except` is
   * not possible there) and the count is unknown (`-1`).
   */
  async revokeAllForUser(userId: string | number, options: RevokeAllOptions = {}): Promise<number> {
    const user = userIdOf(userId, 'revokeAllForUser');
    const { revocations } = this.runtime;
    if (revocations !== null) {
      const now = this.runtime.now();
      const until = revocationUntil(now, this.runtime.options.absoluteTimeoutMs);
      await failClosed(revocations.revokeUser(user, now, until, now));
      reportEnded(this.runtime.events, 'revoke-all', user, [], -1);
      return -1;
    }
    // `except` names the caller's session even after a regenerate() in this request: keep the
    // stored session that the commit will move, or the move would find it revoked.
    const except = options.except;
    const keep =
      except === undefined ? undefined : this.runtime.context.getStore()?.storedIdOf(except);
    const count = await failClosed(this.runtime.store.destroyByUser(user, keep ?? except));
    reportEnded(this.runtime.events, 'revoke-all', user, [], count);
    return count;
  }

  private requestSession(method: string): SessionState {
    const session = this.runtime.context.getStore();
    if (session === undefined) {
      throw new NoSessionContextError(method);
    }
    return session;
  }
}
