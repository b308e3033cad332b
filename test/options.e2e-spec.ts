import { afterEach, describe, expect, it } from '@jest/globals';
import {
  Inject,
  Injectable,
  Module,
  type ConfigurableModuleOptionsFactory,
  type INestApplication,
} from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { SessionModule, SessionOptionsError, type SessionModuleOptions } from 'nest-secure-session';
import request from 'supertest';
import { createTestApp, TEST_CONTROLLERS, TEST_SECRET } from './fixtures/test-app.js';
import {
  cookieFrom,
  parseSetCookieHeader,
  theSessionSetCookie,
} from './fixtures/session-helpers.js';
import { initApp, PLATFORMS, type Platform } from './support/platforms.js';

type TestOptions = Partial<SessionModuleOptions> & { global?: boolean };

/** Boots the fixture app with `options` and returns the error that stopped it. */
async function bootError(options: TestOptions): Promise<SessionOptionsError> {
  let app: INestApplication | undefined;
  try {
    ({ app } = await createTestApp(options));
  } catch (error) {
    expect(error).toBeInstanceOf(SessionOptionsError);
    return error as SessionOptionsError;
  }
  await app.close();
  throw new Error(`the app booted with ${JSON.stringify(options)}`);
}

/** Asserts the boot fails with a problem that matches every pattern, and never shows a secret. */
async function expectRefused(options: TestOptions, ...patterns: RegExp[]): Promise<void> {
  const error = await bootError(options);
  const problem = error.problems.find((candidate) =>
    patterns.every((pattern) => pattern.test(candidate)),
  );
  expect({ problems: error.problems, matched: problem !== undefined }).toEqual({
    problems: error.problems,
    matched: true,
  });
  for (const pattern of patterns) {
    expect(error.message).toMatch(pattern);
  }
  const secrets = [options.secret ?? TEST_SECRET].flat();
  for (const secret of secrets) {
    if (typeof secret === 'string' && secret.length > 0) {
      expect(error.message).not.toContain(secret);
      expect(error.stack ?? '').not.toContain(secret);
      expect(JSON.stringify(error.problems)).not.toContain(secret);
    }
  }
}

describe('SessionModule options', () => {
  const originalNodeEnv = process.env.NODE_ENV;
  afterEach(() => {
    process.env.NODE_ENV = originalNodeEnv;
  });

  describe('secrets', () => {
    it('refuses a secret shorter than 32 bytes, naming it and how to make one', async () => {
      await expectRefused({ secret: 'Sh0rt-but-r4ndom!' }, /\bsecret\b/, /32 bytes/, /randomBytes/);
    });

    it('refuses a short secret in a rotation list, naming its position', async () => {
      await expectRefused({ secret: [TEST_SECRET, 'Old-sh0rt-s3cret'] }, /secret\[1\]/, /32 bytes/);
    });

    it('refuses a missing secret', async () => {
      await expectRefused({ secret: undefined }, /secret is required/);
    });

    it.each([
      'keyboard cat keyboard cat keyboard cat',
      'please-changeme-before-going-live-0000',
      'your-secret-goes-here-in-production!!',
      'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
      '0123456789012345678901234567890123456789',
    ])('refuses the placeholder secret %p', async (secret) => {
      await expectRefused({ secret }, /secret/, /placeholder/);
    });

    it.each(PLATFORMS)(
      'counts bytes, not characters: 16 two-byte characters pass (%s)',
      async (platform) => {
        const { app } = await createTestApp({ secret: 'äöüßéèêñçåøæœÿíó' }, undefined, platform);
        await app.close();
      },
    );
  });

  describe('cookie', () => {
    it("refuses sameSite 'none' without secure", async () => {
      await expectRefused(
        { cookie: { name: 'sid', sameSite: 'none', secure: false } },
        /cookie\.sameSite/,
        /secure/,
      );
    });

    it('refuses a __Host- cookie with a domain and suggests __Secure-', async () => {
      await expectRefused({ cookie: { domain: 'example.com' } }, /cookie\.domain/, /__Secure-/);
    });

    it("refuses a __Host- cookie with a path other than '/' and suggests __Secure-", async () => {
      await expectRefused({ cookie: { path: '/app' } }, /cookie\.path/, /__Secure-/);
    });

    it('refuses a __Host- or __Secure- cookie without secure', async () => {
      await expectRefused({ cookie: { secure: false } }, /cookie\.name/, /secure/);
      await expectRefused(
        { cookie: { name: '__Secure-sid', secure: false } },
        /cookie\.name/,
        /secure/,
      );
    });

    it.each(['s;id', 's id', 'sid\x01', 'sid\t', 'sid\n', 's=id', 'sïd', ''])(
      'refuses the cookie name %j',
      async (name) => {
        await expectRefused({ cookie: { name } }, /cookie\.name/);
      },
    );

    it.each(['/a;b', '/a b', '/a\x00', '/a\r\nSet-Cookie: x=1', 'no-leading-slash'])(
      'refuses the cookie path %j',
      async (path) => {
        await expectRefused({ cookie: { name: '__Secure-sid', path } }, /cookie\.path/);
      },
    );

    it.each(['example.com;evil', 'exa mple.com', 'example.com\n', 'example.com\x7f'])(
      'refuses the cookie domain %j',
      async (domain) => {
        await expectRefused({ cookie: { name: '__Secure-sid', domain } }, /cookie\.domain/);
      },
    );

    it.each(PLATFORMS)(
      'accepts a __Secure- cookie with a domain and a narrower path (%s)',
      async (platform) => {
        const { app } = await createTestApp(
          { cookie: { name: '__Secure-sid', domain: 'example.com', path: '/' } },
          undefined,
          platform,
        );
        try {
          const response = await request(app.getHttpServer())
            .post('/login')
            .send({ userId: 'alice' })
            .expect(200);
          const parsed = parseSetCookieHeader(theSessionSetCookie(response, '__Secure-sid'));
          expect(parsed.attributes).toMatchObject({ domain: 'example.com', secure: true });
        } finally {
          await app.close();
        }
      },
    );
  });

  describe('secure: false under NODE_ENV=production', () => {
    it('is refused without allowInsecureCookies, naming the opt-in', async () => {
      process.env.NODE_ENV = 'production';
      await expectRefused(
        { cookie: { name: 'sid', secure: false } },
        /cookie\.secure/,
        /allowInsecureCookies/,
      );
    });

    it('is refused with allowInsecureCookies: false', async () => {
      process.env.NODE_ENV = 'production';
      await expectRefused(
        { cookie: { name: 'sid', secure: false }, allowInsecureCookies: false },
        /cookie\.secure/,
      );
    });

    it.each(PLATFORMS)(
      'is allowed with allowInsecureCookies: true, and the cookie then has no Secure flag (%s)',
      async (platform) => {
        process.env.NODE_ENV = 'production';
        const { app } = await createTestApp(
          { cookie: { name: 'sid', secure: false }, allowInsecureCookies: true },
          undefined,
          platform,
        );
        try {
          const response = await request(app.getHttpServer())
            .post('/login')
            .send({ userId: 'alice' })
            .expect(200);
          const parsed = parseSetCookieHeader(theSessionSetCookie(response, 'sid'));
          expect(parsed.attributes.secure).toBeUndefined();
          expect(parsed.attributes.httponly).toBe(true);
        } finally {
          await app.close();
        }
      },
    );

    it('is allowed outside production', async () => {
      process.env.NODE_ENV = 'development';
      const { app } = await createTestApp({ cookie: { name: 'sid', secure: false } });
      await app.close();
    });
  });

  describe('durations', () => {
    it.each([
      [{ idleTimeout: 'forever' }, /idleTimeout/],
      [{ absoluteTimeout: -1 }, /absoluteTimeout/],
      [{ touchAfter: '0ms' }, /touchAfter/],
      [{ idleTimeout: '2h', absoluteTimeout: '1h' }, /idleTimeout.*absoluteTimeout/],
      [{ idleTimeout: '1m', touchAfter: '5m' }, /touchAfter/],
    ] as Array<[TestOptions, RegExp]>)('refuses %j', async (options, pattern) => {
      await expectRefused(options, pattern);
    });
  });

  it('lists every problem at once and never shows the secret', async () => {
    const error = await bootError({
      cookie: { name: 'bad name', path: '/a;b' },
      maxDataSize: 1,
    });
    expect(error.problems.length).toBeGreaterThanOrEqual(3);
    expect(error.message).not.toContain(TEST_SECRET);
  });

  describe('forRootAsync', () => {
    const CONFIG = Symbol('CONFIG');

    @Module({
      providers: [{ provide: CONFIG, useValue: { secret: TEST_SECRET } }],
      exports: [CONFIG],
    })
    class ConfigModule {}

    @Injectable()
    class SessionConfig implements ConfigurableModuleOptionsFactory<
      SessionModuleOptions,
      'createSessionOptions'
    > {
      constructor(@Inject(CONFIG) private readonly config: { secret: string }) {}
      createSessionOptions(): SessionModuleOptions {
        return { secret: this.config.secret, csrf: false };
      }
    }

    @Module({
      imports: [ConfigModule],
      providers: [SessionConfig],
      exports: [SessionConfig],
    })
    class SessionConfigModule {}

    async function bootAsync(
      sessionModule: ReturnType<typeof SessionModule.forRootAsync>,
      platform: Platform,
    ): Promise<INestApplication> {
      @Module({ imports: [sessionModule], controllers: TEST_CONTROLLERS })
      class AsyncAppModule {}
      const moduleRef = await Test.createTestingModule({ imports: [AsyncAppModule] }).compile();
      return initApp(moduleRef, platform);
    }

    async function expectWorkingSessions(app: INestApplication): Promise<void> {
      try {
        await request(app.getHttpServer()).get('/me').expect(401);
        const loginResponse = await request(app.getHttpServer())
          .post('/login')
          .send({ userId: 'async-user' })
          .expect(200);
        const me = await request(app.getHttpServer())
          .get('/me')
          .set('Cookie', cookieFrom(loginResponse));
        expect(me.status).toBe(200);
        expect(me.body.userId).toBe('async-user');
      } finally {
        await app.close();
      }
    }

    it.each(PLATFORMS)('works with useFactory and inject (%s)', async (platform) => {
      const app = await bootAsync(
        SessionModule.forRootAsync({
          imports: [ConfigModule],
          inject: [CONFIG],
          useFactory: (config: { secret: string }) => ({ secret: config.secret, csrf: false }),
          global: true,
        }),
        platform,
      );
      await expectWorkingSessions(app);
    });

    it.each(PLATFORMS)('works with useClass (%s)', async (platform) => {
      const app = await bootAsync(
        SessionModule.forRootAsync({
          imports: [ConfigModule],
          useClass: SessionConfig,
          global: true,
        }),
        platform,
      );
      await expectWorkingSessions(app);
    });

    it.each(PLATFORMS)('works with useExisting (%s)', async (platform) => {
      const app = await bootAsync(
        SessionModule.forRootAsync({
          imports: [SessionConfigModule],
          useExisting: SessionConfig,
          global: true,
        }),
        platform,
      );
      await expectWorkingSessions(app);
    });

    it('validates options from an async factory too, without showing the secret', async () => {
      const secret = 'async-sh0rt-s3cret';
      const sessionModule = SessionModule.forRootAsync({
        useFactory: async () => ({ secret }),
      });
      @Module({ imports: [sessionModule] })
      class BadAsyncModule {}
      let caught: unknown;
      try {
        const moduleRef = await Test.createTestingModule({ imports: [BadAsyncModule] }).compile();
        await moduleRef.close();
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(SessionOptionsError);
      expect((caught as Error).message).toMatch(/secret/);
      expect((caught as Error).message).not.toContain(secret);
    });
  });
});
