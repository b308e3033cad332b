import {
  Body,
  Controller,
  Delete,
  ForbiddenException,
  Get,
  HttpCode,
  NotFoundException,
  Param,
  Post,
  UnauthorizedException,
} from '@nestjs/common';
import {
  Public,
  Roles,
  Session,
  SessionHandle,
  SessionService,
  SkipCsrf,
} from 'nest-secure-session';
import { isStateless } from './store-mode.js';
import { UsersService } from './users.service.js';

interface Credentials {
  username?: unknown;
  password?: unknown;
}

@Controller()
export class AuthController {
  constructor(
    private readonly sessions: SessionService,
    private readonly users: UsersService,
  ) {}

  @Public()
  @Post('auth/login')
  @HttpCode(200)
  async login(@Body() body: Credentials | null = {}) {
    const user = await this.authenticate(body);
    await this.sessions.login(user.id, { roles: user.roles });
    return { userId: user.id, roles: user.roles };
  }

  /** For API clients: a bearer token in the body, no cookie. Exempt from CSRF (no ambient credential). */
  @Public()
  @SkipCsrf()
  @Post('auth/token')
  @HttpCode(200)
  async token(@Body() body: Credentials | null = {}) {
    this.requireServerSideStore('Issuing bearer tokens');
    const user = await this.authenticate(body);
    const session = await this.sessions.login(
      user.id,
      { roles: user.roles },
      { transport: 'header' },
    );
    return { token: session.bearerToken };
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

  @Get('admin')
  @Roles('admin')
  admin(@Session() session: SessionHandle) {
    return { userId: session.userId, admin: true };
  }

  @Get('auth/sessions')
  async list(@Session() session: SessionHandle) {
    this.requireServerSideStore('Listing sessions');
    const sessions = await this.sessions.listForUser(session.userId as string);
    return sessions.map((info) => ({ ...info, current: info.id === session.id }));
  }

  @Delete('auth/sessions/:id')
  async revoke(@Session() session: SessionHandle, @Param('id') id: string) {
    this.requireServerSideStore('Revoking one session');
    const own = await this.sessions.listForUser(session.userId as string);
    if (!own.some((info) => info.id === id)) {
      throw new ForbiddenException('No such session among yours');
    }
    await this.sessions.revoke(id);
    return { revoked: id };
  }

  @Post('auth/logout-all')
  @HttpCode(200)
  async logoutAll(@Session() session: SessionHandle) {
    const revoked = await this.sessions.revokeAllForUser(session.userId as string);
    await this.sessions.logout();
    return { revoked };
  }

  /** Stateless mode (`SESSION_STORE=cookie`) has no bearer tokens and lists no sessions. */
  private requireServerSideStore(what: string): void {
    if (isStateless()) {
      throw new NotFoundException(`${what} needs a server-side store (unset SESSION_STORE)`);
    }
  }

  private async authenticate(body: Credentials | null): Promise<{ id: string; roles: string[] }> {
    // `null` is a JSON body too: Fastify's parser passes it on (Express's strict one refuses it).
    const user = await this.users.verify(body?.username, body?.password);
    if (user === null) {
      throw new UnauthorizedException('Wrong username or password');
    }
    return user;
  }
}
