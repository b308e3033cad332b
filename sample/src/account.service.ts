import {
  BadRequestException,
  ForbiddenException,
  Injectable,
  NotFoundException,
  UnauthorizedException,
} from '@nestjs/common';
import {
  SessionHandle,
  SessionService,
  type LoginOptions,
  type SessionInfo,
} from 'nest-secure-session';
import { deviceLabel, isMobile } from './device-label.js';
import { plural } from './plural.js';
import { UsersService } from './users.service.js';

/** One of the user's sessions as the account page and `GET /auth/sessions` show it. */
export interface AccountSession extends SessionInfo {
  /** "Chrome on Linux": a label parsed from `userAgent`. */
  device: string;
  /** A phone or tablet (by its user agent). */
  mobile: boolean;
  /** Whether this is the caller's own session. */
  current: boolean;
}

/** What an action that ends sessions reports. */
export interface Revocation {
  revoked: number;
  /** A sentence for the user ("Signed out 2 other sessions"). */
  message: string;
}

/**
 * The account actions, shared by the JSON API (`AuthController`, `AdminController`) and the
 * page's no-JavaScript forms (`FormsController`). `session` is always the caller's.
 */
@Injectable()
export class AccountService {
  constructor(
    private readonly sessions: SessionService,
    private readonly users: UsersService,
  ) {}

  /** Checks the credentials and logs in: always a new session id (fixation-proof). */
  async signIn(username: unknown, password: unknown, options?: LoginOptions) {
    const user = await this.users.verify(username, password);
    if (user === null) {
      throw new UnauthorizedException('Wrong username or password');
    }
    return this.sessions.login(user.id, { roles: user.roles }, options);
  }

  /** Asks the signed-in user's password again. A new login, so a new session id. */
  async reauthenticate(session: SessionHandle, password: unknown): Promise<SessionHandle> {
    const user = await this.users.verify(this.userOf(session), password);
    if (user === null) {
      throw new UnauthorizedException('Wrong password');
    }
    return this.sessions.login(user.id, { roles: user.roles });
  }

  /** The caller's live sessions: this one first, then the most recently seen. */
  async sessionsOf(session: SessionHandle): Promise<AccountSession[]> {
    const listed = await this.sessions.listForUser(this.userOf(session));
    return listed
      .map((info) => ({
        ...info,
        device: deviceLabel(info.userAgent),
        mobile: isMobile(info.userAgent),
        current: info.id === session.id,
      }))
      .sort(
        (a, b) =>
          Number(b.current) - Number(a.current) || b.lastSeenAt.getTime() - a.lastSeenAt.getTime(),
      );
  }

  /** Ends one of the caller's sessions (`403` for anyone else's). */
  async revokeOwn(session: SessionHandle, id: string): Promise<void> {
    const own = await this.sessions.listForUser(this.userOf(session));
    if (!own.some((info) => info.id === id)) {
      throw new ForbiddenException('No such session among yours');
    }
    await this.sessions.revoke(id);
  }

  /** Ends every session of the caller's but this one. */
  async signOutOthers(session: SessionHandle): Promise<Revocation> {
    const revoked = await this.sessions.revokeAllForUser(this.userOf(session), {
      except: session.id,
    });
    return {
      revoked,
      message:
        revoked === 0
          ? 'There were no other sessions to sign out'
          : `Signed out ${plural(revoked, 'other session')}`,
    };
  }

  /** Admin: ends every session of another user. */
  async signOutUser(
    admin: SessionHandle,
    userId: string,
  ): Promise<Revocation & { userId: string }> {
    if (!this.users.exists(userId)) {
      throw new NotFoundException(`No user '${userId}'`);
    }
    if (userId === admin.userId) {
      throw new BadRequestException('For your own sessions, use "Sign out everywhere else"');
    }
    const revoked = await this.sessions.revokeAllForUser(userId);
    return { userId, revoked, message: `Signed ${userId} out of ${plural(revoked, 'session')}` };
  }

  /** The other users and how many live sessions each has, for the admin's card. */
  async otherUsers(admin: SessionHandle): Promise<{ userId: string; sessions: number }[]> {
    const others = this.users.ids().filter((id) => id !== admin.userId);
    return Promise.all(
      others.map(async (userId) => ({
        userId,
        sessions: (await this.sessions.listForUser(userId)).length,
      })),
    );
  }

  private userOf(session: SessionHandle): string {
    if (session.userId === null) {
      throw new UnauthorizedException('A valid session is required: log in first');
    }
    return session.userId;
  }
}
