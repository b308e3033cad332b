import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  Injectable,
  Module,
  type INestApplication,
  type MiddlewareConsumer,
  type NestMiddleware,
  type NestModule,
} from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { SessionModule, SessionService } from 'nest-secure-session';
import request from 'supertest';
import { login } from './fixtures/session-helpers.js';
import { TEST_CONTROLLERS, TEST_SECRET } from './fixtures/test-app.js';
import { initApp, PLATFORMS } from './support/platforms.js';

/** Nest middleware that reads the session through SessionService: it runs before any guard. */
@Injectable()
class WhoMiddleware implements NestMiddleware {
  constructor(private readonly sessions: SessionService) {}

  async use(
    _request: unknown,
    response: { setHeader(name: string, value: string): void },
    next: () => void,
  ) {
    const session = await this.sessions.current();
    response.setHeader('x-who', session.userId ?? 'anonymous');
    next();
  }
}

describe.each(PLATFORMS)('SessionService in Nest middleware (%s)', (platform) => {
  let app: INestApplication;

  beforeAll(async () => {
    @Module({
      imports: [SessionModule.forRoot({ secret: TEST_SECRET, global: true, csrf: false })],
      controllers: TEST_CONTROLLERS,
      providers: [WhoMiddleware],
    })
    class MiddlewareModule implements NestModule {
      configure(consumer: MiddlewareConsumer) {
        consumer.apply(WhoMiddleware).forRoutes('*path');
      }
    }
    const moduleRef = await Test.createTestingModule({ imports: [MiddlewareModule] }).compile();
    app = await initApp(moduleRef, platform);
  });
  afterAll(async () => {
    await app.close();
  });

  it('finds the request session before the guards run', async () => {
    const { cookie } = await login(app, 'alice');
    const me = await request(app.getHttpServer()).get('/me').set('Cookie', cookie).expect(200);
    expect(me.headers['x-who']).toBe('alice');
    const anonymous = await request(app.getHttpServer()).get('/public').expect(200);
    expect(anonymous.headers['x-who']).toBe('anonymous');
  });
});
