import { Logger, Module } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { RedisStore, SessionModule } from 'nest-secure-session';
import { AccountService } from './account.service.js';
import { AdminController } from './admin.controller.js';
import { AuthController } from './auth.controller.js';
import { FormsController } from './forms.controller.js';
import { AccountPage } from './page/account-page.js';
import { AssetsController } from './page/assets.controller.js';
import { PageController } from './page/page.controller.js';
import { REDIS_CLIENT, RedisModule } from './redis.module.js';
import { isStateless } from './store-mode.js';
import { UsersService } from './users.service.js';

@Module({
  imports: [
    SessionModule.forRootAsync({
      global: true,
      imports: [RedisModule],
      inject: [REDIS_CLIENT],
      useFactory: (redis: Redis | null) => {
        const secret = process.env.SESSION_SECRET;
        if (redis !== null && secret === undefined) {
          new Logger('Sample').warn(
            'REDIS_URL without SESSION_SECRET: each instance picks its own random secret and ' +
              'cannot read the others’ sessions. Give every instance the same SESSION_SECRET.',
          );
        }
        // A random secret per start is fine for a demo; real apps read a fixed one from config.
        const common = { secret: secret ?? randomBytes(32).toString('base64url') };
        const redisStore = () =>
          new RedisStore({ client: redis as Redis, prefix: process.env.SESSION_PREFIX ?? 'sess:' });
        if (isStateless()) {
          // SESSION_STORE=cookie: the session sealed in the cookie (no bearer tokens, no session
          // listing); with REDIS_URL, logouts are remembered in Redis across instances.
          return {
            ...common,
            store: 'cookie' as const,
            ...(redis === null ? {} : { revocationStore: redisStore() }),
          };
        }
        return {
          ...common,
          // Browsers use the cookie; API clients get a bearer token from POST /auth/token.
          transport: ['cookie', 'header'],
          // With REDIS_URL, instances share sessions through Redis; else the default MemoryStore.
          ...(redis === null ? {} : { store: redisStore() }),
        };
      },
    }),
  ],
  controllers: [PageController, AssetsController, FormsController, AuthController, AdminController],
  providers: [UsersService, AccountService, AccountPage],
})
export class AppModule {}
