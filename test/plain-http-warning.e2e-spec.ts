import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Logger, Module, type INestApplication } from '@nestjs/common';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { SessionModule, SessionOptionsError } from 'nest-secure-session';
import { resolveSessionOptions } from '../lib/options/resolve-session-options.js';
import request from 'supertest';
import { TEST_CONTROLLERS, TEST_SECRET } from './fixtures/test-app.js';
import { PLATFORMS, type Platform } from './support/platforms.js';

/** An app on `platform` whose platform trusts `X-Forwarded-*` from its proxy. */
async function trustingApp(platform: Platform): Promise<INestApplication> {
  @Module({
    imports: [SessionModule.forRoot({ secret: TEST_SECRET, global: true, csrf: false })],
    controllers: TEST_CONTROLLERS,
  })
  class PlainHttpModule {}
  const moduleRef = await Test.createTestingModule({ imports: [PlainHttpModule] }).compile();
  if (platform === 'express') {
    const app = moduleRef.createNestApplication({ logger: false });
    (app.getHttpAdapter().getInstance() as { set(key: string, value: unknown): void }).set(
      'trust proxy',
      true,
    );
    return app.init();
  }
  const app = moduleRef.createNestApplication<NestFastifyApplication>(
    new FastifyAdapter({ trustProxy: true }),
    { logger: false },
  );
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  return app;
}

describe.each(PLATFORMS)('development over plain HTTP cannot fail silently (%s)', (platform) => {
  let warn: ReturnType<typeof jest.spyOn>;
  const apps: INestApplication[] = [];

  beforeAll(() => {
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.close()));
    warn.mockClear();
  });
  afterAll(() => warn.mockRestore());

  async function loginVia(app: INestApplication, headers: Record<string, string>): Promise<void> {
    let call = request(app.getHttpServer()).post('/login');
    for (const [name, value] of Object.entries(headers)) {
      call = call.set(name, value);
    }
    await call.send({ userId: 'alice' }).expect(200);
  }

  const dropped = () =>
    warn.mock.calls.filter((call: unknown[]) => /browsers drop it there/.test(String(call[0])));

  it('warns once, naming the fix, when the Secure cookie is set over HTTP on another host', async () => {
    const app = await trustingApp(platform);
    apps.push(app);
    await loginVia(app, { Host: 'dev-box.lan:3000' });
    await loginVia(app, { Host: 'dev-box.lan:3000' });
    expect(dropped()).toHaveLength(1);
    const message = String(dropped()[0][0]);
    expect(message).toContain("'dev-box.lan'");
    expect(message).toContain("cookie: { secure: false, name: 'sid' }");
    expect(message).not.toMatch(/[A-Za-z0-9_-]{43}/);
  });

  it.each([['localhost:3000'], ['127.0.0.1:3000'], ['[::1]:3000'], ['app.localhost']])(
    'stays quiet on a host browsers treat as secure (%s)',
    async (host) => {
      const app = await trustingApp(platform);
      apps.push(app);
      await loginVia(app, { Host: host });
      expect(dropped()).toHaveLength(0);
    },
  );

  it("honours the platform's trusted proxy: X-Forwarded-Proto https is secure", async () => {
    const app = await trustingApp(platform);
    apps.push(app);
    await loginVia(app, { Host: 'app.example.com', 'X-Forwarded-Proto': 'https' });
    expect(dropped()).toHaveLength(0);
  });
});

describe('secure: false with a __Host- name', () => {
  it('the options error names the cookie name to use instead', () => {
    expect(() => resolveSessionOptions({ secret: TEST_SECRET, cookie: { secure: false } })).toThrow(
      SessionOptionsError,
    );
    expect(() => resolveSessionOptions({ secret: TEST_SECRET, cookie: { secure: false } })).toThrow(
      /for plain HTTP use a name without the prefix, e\.g\. cookie: \{ secure: false, name: 'sid' \}/,
    );
    expect(() =>
      resolveSessionOptions({
        secret: TEST_SECRET,
        cookie: { secure: false, name: '__Secure-app' },
      }),
    ).toThrow(/name: 'app'/);
  });
});
