import { Controller, Get } from '@nestjs/common';
import { Public, SessionService } from 'nest-secure-session';
import { AccountPage } from './account-page.js';
import { PageHeaders } from './page-headers.js';

/** `GET /`: the sign-in form, or the account page; rendered on the server, state included. */
@Controller()
export class PageController {
  constructor(
    private readonly sessions: SessionService,
    private readonly page: AccountPage,
  ) {}

  @Public()
  @Get()
  @PageHeaders()
  async show(): Promise<string> {
    const session = await this.sessions.current();
    // A form post's notice ("Signed out 2 other sessions") is shown once.
    const notice = session.get('flash');
    if (notice !== undefined) {
      session.delete('flash');
    }
    return this.page.render({ notice });
  }
}
