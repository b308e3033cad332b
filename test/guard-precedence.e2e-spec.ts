import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  Body,
  Controller,
  Get,
  HttpCode,
  Module,
  Post,
  UseGuards,
  type INestApplication,
} from '@nestjs/common';
import { Test } from '@nestjs/testing';
import {
  FreshSession,
  Public,
  Roles,
  SessionGuard,
  SessionModule,
  SessionService,
} from 'nest-secure-session';
import request from 'supertest';
import { login } from './fixtures/session-helpers.js';
import { TEST_SECRET } from './fixtures/test-app.js';
import { initApp, PLATFORMS } from './support/platforms.js';

@Controller()
class LoginController {
  constructor(private readonly sessions: SessionService) {}

  @Post('login')
  @Public()
  @HttpCode(200)
  async login(@Body() body: { userId: string; roles?: string[] }) {
    return { id: (await this.sessions.login(body.userId, { roles: body.roles ?? [] })).id };
  }
}

/** A public controller whose routes demand more: the demands win. */
@Public()
@Controller('public-class')
class PublicClassController {
  @Get('open')
  open() {
    return { ok: true };
  }

  @Get('admin')
  @Roles('admin')
  admin() {
    return { admin: true };
  }

  @Post('fresh')
  @FreshSession('5m')
  @HttpCode(200)
  fresh() {
    return { fresh: true };
  }
}

/** A controller that demands a role, with one route opened explicitly. */
@Roles('admin')
@Controller('roles-class')
class RolesClassController {
  @Get('admin')
  admin() {
    return { admin: true };
  }

  @Get('open')
  @Public()
  open() {
    return { ok: true };
  }
}

/** One level, both markers: the demand wins over `@Public()`. */
@Public()
@Roles('admin')
@Controller('both-class')
class BothClassController {
  @Get()
  both() {
    return { admin: true };
  }
}

/** The same precedence under `@UseGuards(SessionGuard)` instead of the global guard. */
@UseGuards(SessionGuard)
@Public()
@Controller('guarded-public')
class GuardedPublicController {
  @Get('admin')
  @Roles('admin')
  admin() {
    return { admin: true };
  }
}

describe.each(PLATFORMS)('guard precedence: demands beat @Public() (%s)', (platform) => {
  const apps: INestApplication[] = [];

  async function appWith(global: boolean): Promise<INestApplication> {
    @Module({
      imports: [SessionModule.forRoot({ secret: TEST_SECRET, global, csrf: false })],
      controllers: [
        LoginController,
        PublicClassController,
        RolesClassController,
        BothClassController,
        GuardedPublicController,
      ],
    })
    class PrecedenceModule {}
    const moduleRef = await Test.createTestingModule({ imports: [PrecedenceModule] }).compile();
    const app = await initApp(moduleRef, platform);
    apps.push(app);
    return app;
  }

  let app: INestApplication;
  let user: string;
  let admin: string;

  beforeAll(async () => {
    app = await appWith(true);
    user = (await login(app, 'alice', { roles: ['user'] })).cookie;
    admin = (await login(app, 'root', { roles: ['user', 'admin'] })).cookie;
  });
  afterAll(async () => {
    await Promise.all(apps.map((each) => each.close()));
  });

  const get = (path: string, cookie?: string) => {
    const call = request(app.getHttpServer()).get(path);
    return cookie === undefined ? call : call.set('Cookie', cookie);
  };

  it('a @Roles() route of a @Public() controller demands a session and the role', async () => {
    await get('/public-class/admin').expect(401);
    await get('/public-class/admin', user).expect(403);
    await get('/public-class/admin', admin).expect(200);
  });

  it('a @FreshSession() route of a @Public() controller demands a session', async () => {
    await request(app.getHttpServer()).post('/public-class/fresh').expect(401);
    await request(app.getHttpServer()).post('/public-class/fresh').set('Cookie', user).expect(200);
  });

  it('the other routes of a @Public() controller stay public', async () => {
    await get('/public-class/open').expect(200);
  });

  it("a route's own @Public() opens it under a @Roles() controller", async () => {
    await get('/roles-class/open').expect(200);
    await get('/roles-class/admin').expect(401);
    await get('/roles-class/admin', user).expect(403);
    await get('/roles-class/admin', admin).expect(200);
  });

  it('on one level, @Roles() beats @Public()', async () => {
    await get('/both-class').expect(401);
    await get('/both-class', user).expect(403);
    await get('/both-class', admin).expect(200);
  });

  it('the same precedence holds under @UseGuards(SessionGuard) without the global guard', async () => {
    const local = await appWith(false);
    const localUser = (await login(local, 'alice', { roles: ['user'] })).cookie;
    await request(local.getHttpServer()).get('/guarded-public/admin').expect(401);
    const denied = await request(local.getHttpServer())
      .get('/guarded-public/admin')
      .set('Cookie', localUser);
    expect(denied.status).toBe(403);
  });
});
