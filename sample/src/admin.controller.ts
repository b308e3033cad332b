import { Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { Roles, Session, SessionHandle } from 'nest-secure-session';
import { AccountService } from './account.service.js';
import { AdminAction } from './fresh-login.js';

/** Admin-only routes: `403` for other users, `401` without a session. */
@Controller('admin')
export class AdminController {
  constructor(private readonly account: AccountService) {}

  @Get()
  @Roles('admin')
  admin(@Session() session: SessionHandle) {
    return { userId: session.userId, admin: true };
  }

  /** Signs a user out of every session; needs a recent login (`401`, `reauthenticate: true`). */
  @Post('users/:userId/sign-out')
  @HttpCode(200)
  @AdminAction()
  signOutUser(@Session() session: SessionHandle, @Param('userId') userId: string) {
    return this.account.signOutUser(session, userId);
  }
}
