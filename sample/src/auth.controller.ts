import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  NotFoundException,
  Param,
  Post,
} from '@nestjs/common';
import { Public, Session, SessionHandle, SessionService, SkipCsrf } from 'nest-secure-session';
import { AccountService } from './account.service.js';
import { isStateless } from './store-mode.js';

interface Credentials {
  username?: unknown;
  password?: unknown;
}

/** The JSON API: what the page's script calls, and any other client. */
@Controller()
export class AuthController {
  constructor(
    private readonly sessions: SessionService,
    private readonly account: AccountService,
  ) {}

  /** The session's new CSRF token comes back with it: the old one died with the old id. */
  @Public()
  @Post('auth/login')
  @HttpCode(200)
  async login(@Body() body: Credentials | null = {}) {
    // `null` is a JSON body too: Fastify's parser passes it on (Express's strict one refuses it).
    const session = await this.account.signIn(body?.username, body?.password);
    return { userId: session.userId, roles: session.get('roles'), csrfToken: session.csrfToken };
  }

  /** For API clients: a bearer token in the body, no cookie. Exempt from CSRF (no ambient credential). */
  @Public()
  @SkipCsrf()
  @Post('auth/token')
  @HttpCode(200)
  async token(@Body() body: Credentials | null = {}) {
    this.requireServerSideStore('Issuing bearer tokens');
    const session = await this.account.signIn(body?.username, body?.password, {
      transport: 'header',
    });
    return { token: session.bearerToken };
  }

  /** The signed-in user's password again, for `@FreshSession` routes: a new login and id. */
  @Post('auth/reauthenticate')
  @HttpCode(200)
  async reauthenticate(@Session() session: SessionHandle, @Body() body: Credentials | null = {}) {
    const renewed = await this.account.reauthenticate(session, body?.password);
    return { userId: renewed.userId, csrfToken: renewed.csrfToken };
  }

  @Public()
  @Get('auth/csrf')
  async csrf() {
    return { csrfToken: await this.sessions.csrfToken() };
  }

  @Public()
  @Post('auth/logout')
  @HttpCode(200)
  async logout() {
    await this.sessions.logout();
    return { loggedOut: true };
  }

  @Get('me')
  me(@Session() session: SessionHandle) {
    return { userId: session.userId, roles: session.get('roles') ?? [] };
  }

  @Get('auth/sessions')
  list(@Session() session: SessionHandle) {
    this.requireServerSideStore('Listing sessions');
    return this.account.sessionsOf(session);
  }

  @Delete('auth/sessions/:id')
  async revoke(@Session() session: SessionHandle, @Param('id') id: string) {
    this.requireServerSideStore('Revoking one session');
    await this.account.revokeOwn(session, id);
    return { revoked: id };
  }

  /** Every session of the user, this one included. */
  @Post('auth/logout-all')
  @HttpCode(200)
  async logoutAll(@Session() session: SessionHandle) {
    const revoked = await this.sessions.revokeAllForUser(session.userId as string);
    await this.sessions.logout();
    return { revoked };
  }

  /** Every session of the user but this one ("sign out everywhere else"). */
  @Post('auth/logout-others')
  @HttpCode(200)
  logoutOthers(@Session() session: SessionHandle) {
    return this.account.signOutOthers(session);
  }

  /** Stateless mode (`SESSION_STORE=cookie`) has no bearer tokens and lists no sessions. */
  private requireServerSideStore(what: string): void {
    if (isStateless()) {
      throw new NotFoundException(`${what} needs a server-side store (unset SESSION_STORE)`);
    }
  }
}
