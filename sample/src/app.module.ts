import { Module } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { SessionModule } from 'nest-secure-session';
import { AuthController } from './auth.controller.js';
import { PageController } from './page.controller.js';
import { UsersService } from './users.service.js';

@Module({
  imports: [
    SessionModule.forRootAsync({
      global: true,
      useFactory: () => ({
        // A random secret per start is fine for a demo; real apps read a fixed one from config.
        secret: process.env.SESSION_SECRET ?? randomBytes(32).toString('base64url'),
        // Browsers use the cookie; API clients get a bearer token from POST /auth/token.
        transport: ['cookie', 'header'],
      }),
    }),
  ],
  controllers: [PageController, AuthController],
  providers: [UsersService],
})
export class AppModule {}
