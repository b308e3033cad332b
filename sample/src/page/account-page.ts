import { Injectable } from '@nestjs/common';
import { SessionHandle, SessionService } from 'nest-secure-session';
import { AccountService } from '../account.service.js';
import { FRESH_LOGIN_LABEL } from '../fresh-login.js';
import { accountPage, type AccountView, type SignedInUser } from './account.view.js';

/** What a request adds to the page beyond the session's state. */
export type PageExtras = Pick<AccountView, 'notice' | 'error' | 'username' | 'reauthenticate'>;

/** Renders the account page for the current request's session. */
@Injectable()
export class AccountPage {
  constructor(
    private readonly sessions: SessionService,
    private readonly account: AccountService,
  ) {}

  async render(extras: PageExtras = {}): Promise<string> {
    const session = await this.sessions.current();
    return accountPage({
      now: new Date(),
      csrfToken: session.csrfToken,
      user: session.isAuthenticated ? await this.signedIn(session) : null,
      ...extras,
    });
  }

  private async signedIn(session: SessionHandle): Promise<SignedInUser> {
    const roles = session.get('roles') ?? [];
    return {
      name: session.userId as string,
      roles,
      signedInAt: session.authenticatedAt,
      sessions: await this.account.sessionsOf(session),
      admin: roles.includes('admin')
        ? { freshFor: FRESH_LOGIN_LABEL, users: await this.account.otherUsers(session) }
        : null,
    };
  }
}
