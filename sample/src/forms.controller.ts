import { Body, Controller, Param, Post, Redirect, UseFilters } from '@nestjs/common';
import { Public, Session, SessionHandle, SessionService } from 'nest-secure-session';
import { AccountService } from './account.service.js';
import { AdminAction } from './fresh-login.js';
import { FormErrorsFilter } from './page/form-errors.filter.js';

interface Fields {
  username?: unknown;
  password?: unknown;
}

/**
 * The account page's forms without JavaScript: each posts here (with `_csrf`), and the answer
 * is a redirect back to the page (POST-redirect-GET) with a one-time notice, or, on an error,
 * the page itself with the server's message (`FormErrorsFilter`). With JavaScript the same
 * forms call the JSON API instead.
 */
@Controller('account')
@UseFilters(FormErrorsFilter)
export class FormsController {
  constructor(
    private readonly sessions: SessionService,
    private readonly account: AccountService,
  ) {}

  @Public()
  @Post('login')
  @Redirect('/', 303)
  async login(@Body() body: Fields = {}): Promise<void> {
    await this.account.signIn(body.username, body.password);
  }

  @Public()
  @Post('logout')
  @Redirect('/', 303)
  async logout(): Promise<void> {
    await this.sessions.logout();
  }

  @Post('reauthenticate')
  @Redirect('/', 303)
  async reauthenticate(@Session() session: SessionHandle, @Body() body: Fields = {}) {
    const renewed = await this.account.reauthenticate(session, body.password);
    renewed.set('flash', 'Password confirmed: you can run the admin action now.');
  }

  @Post('sessions/:id/revoke')
  @Redirect('/', 303)
  async revoke(@Session() session: SessionHandle, @Param('id') id: string): Promise<void> {
    await this.account.revokeOwn(session, id);
    session.set('flash', 'Session revoked');
  }

  @Post('sign-out-others')
  @Redirect('/', 303)
  async signOutOthers(@Session() session: SessionHandle): Promise<void> {
    session.set('flash', (await this.account.signOutOthers(session)).message);
  }

  @Post('admin/users/:userId/sign-out')
  @Redirect('/', 303)
  @AdminAction()
  async signOutUser(@Session() session: SessionHandle, @Param('userId') userId: string) {
    session.set('flash', (await this.account.signOutUser(session, userId)).message);
  }
}
