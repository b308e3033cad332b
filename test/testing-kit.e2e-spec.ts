import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  Injectable,
  type CanActivate,
  type ExecutionContext,
  type INestApplication,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { Test, type TestingModuleBuilder } from '@nestjs/testing';
import type { Redis } from 'ioredis';
import {
  RedisStore,
  SessionGuard,
  SessionService,
  type SessionModuleOptions,
} from 'nest-secure-session';
import request, { type Response } from 'supertest';
import { createFakeSession, loginAs, loginAsBearer } from '../lib/testing/index.js';
import { kitAppModule, NotesController } from './fixtures/kit-app.js';
import { initApp, PLATFORMS, type Platform } from './support/platforms.js';
import { connectRedis, deleteKeysWithPrefix, uniquePrefix } from './support/redis-env.js';

/**
 * The testing kit (`nest-secure-session/testing`) used as an app's own tests would use it, on a
 * small fixture app (test/fixtures/kit-app.ts): `loginAs` / `loginAsBearer` on both platforms
 * and every kind of store, `createFakeSession` in a controller unit test, and
 * `overrideGuard(SessionGuard)` reaching the guard `global: true` registers.
 */

async function boot(
  platform: Platform,
  options: Partial<SessionModuleOptions> = {},
  override: (builder: TestingModuleBuilder) => TestingModuleBuilder = (builder) => builder,
): Promise<INestApplication> {
  const builder = Test.createTestingModule({ imports: [kitAppModule(options)] });
  return initApp(await override(builder).compile(), platform);
}

/** The session cookie a response set (`name=value`), or `previous` when it set none. */
function cookieAfter(response: Response, previous: string): string {
  const header = response.headers['set-cookie'] as string[] | string | undefined;
  const lines = header === undefined ? [] : Array.isArray(header) ? header : [header];
  const name = previous.slice(0, previous.indexOf('='));
  const line = lines.find((entry) => entry.startsWith(`${name}=`));
  return line === undefined ? previous : line.split(';')[0];
}

let redis: Redis;
const prefix = uniquePrefix('testing-kit');

beforeAll(async () => {
  redis = await connectRedis();
});
afterAll(async () => {
  if (redis !== undefined) {
    await deleteKeysWithPrefix(redis, prefix);
    await redis.quit();
  }
});

const STORES: [string, () => Partial<SessionModuleOptions>][] = [
  ['MemoryStore', () => ({})],
  ["stateless (store: 'cookie')", () => ({ store: 'cookie' })],
  ['RedisStore', () => ({ store: new RedisStore({ client: redis, prefix }) })],
];

describe.each(PLATFORMS)('loginAs on %s', (platform) => {
  describe.each(STORES)('with %s', (storeName, storeOptions) => {
    let app: INestApplication;
    const http = () => request(app.getHttpServer());

    beforeAll(async () => {
      app = await boot(platform, storeOptions());
    });
    afterAll(async () => {
      await app?.close();
    });

    it('one call gives a cookie that opens protected routes as that user, with its data', async () => {
      const { cookie } = await loginAs(app, 'alice', { roles: ['admin'] });
      expect(cookie).toMatch(/^__Host-sid=[^;\s]+$/);

      await http().get('/me').expect(401);
      const me = await http().get('/me').set('Cookie', cookie).expect(200);
      expect(me.body).toEqual({ userId: 'alice', roles: ['admin'] });
      await http().get('/admin').set('Cookie', cookie).expect(200);
      await http().get('/reports').set('Cookie', cookie).expect(200);

      const bob = await loginAs(app, 'bob', { roles: ['user'] });
      await http().get('/admin').set('Cookie', bob.cookie).expect(403);
    });

    it('a CSRF-protected POST passes with the returned token, and is refused without it', async () => {
      const { cookie, csrfToken, headers } = await loginAs(app, 'alice');
      expect(headers).toEqual({ cookie, 'x-csrf-token': csrfToken });

      const refused = await http().post('/notes').set('Cookie', cookie).send({ text: 'no' });
      expect(refused.status).toBe(403);
      expect((refused.body as { message: string }).message).toMatch(/CSRF token/);

      const first = await http().post('/notes').set(headers).send({ text: 'first' }).expect(201);
      const next = cookieAfter(first, cookie);
      const second = await http()
        .post('/notes')
        .set('Cookie', next)
        .set('x-csrf-token', csrfToken)
        .send({ text: 'second' })
        .expect(201);
      const notes = await http().get('/notes').set('Cookie', cookieAfter(second, next));
      expect(notes.body).toEqual({ notes: ['first', 'second'] });
    });

    it('the session is a real one: it ends with logout, and regenerate moves its CSRF token', async () => {
      const { cookie, headers, csrfToken } = await loginAs(app, 'carol');
      const rotated = await http().post('/rotate').set(headers).expect(200);
      const moved = cookieAfter(rotated, cookie);
      expect(moved).not.toBe(cookie);
      await http().get('/me').set('Cookie', cookie).expect(401);
      // The old token no longer fits the moved session.
      await http().post('/logout').set('Cookie', moved).set('x-csrf-token', csrfToken).expect(403);

      const again = await loginAs(app, 'carol');
      await http().post('/logout').set(again.headers).expect(200);
      await http().get('/me').set('Cookie', again.cookie).expect(401);
    });

    if (storeName !== "stateless (store: 'cookie')") {
      it('the store holds it: listForUser shows the session, with the user agent given', async () => {
        // One user per app: the Redis suites of both platforms share a key prefix.
        const user = `dave-${platform}`;
        const { sessionId } = await loginAs(app, user, {}, { userAgent: 'kit-agent' });
        const listed = await app.get(SessionService).listForUser(user);
        expect(listed).toEqual([
          expect.objectContaining({ id: sessionId, userAgent: 'kit-agent' }),
        ]);
      });
    }
  });
});

describe.each(PLATFORMS)('loginAsBearer on %s', (platform) => {
  let app: INestApplication;
  const http = () => request(app.getHttpServer());

  beforeAll(async () => {
    app = await boot(platform, { transport: ['cookie', 'header'] });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('gives an Authorization header that opens protected routes; unsafe requests need no CSRF token', async () => {
    const { token, headers } = await loginAsBearer(app, 'erin', { roles: ['admin'] });
    expect(headers).toEqual({ authorization: `Bearer ${token}` });

    const me = await http().get('/me').set(headers).expect(200);
    expect(me.body).toEqual({ userId: 'erin', roles: ['admin'] });
    const posted = await http().post('/notes').set(headers).send({ text: 'api' }).expect(201);
    expect(posted.headers['set-cookie']).toBeUndefined();
    expect((await http().get('/notes').set(headers)).body).toEqual({ notes: ['api'] });
  });

  it('an app without the header transport says so', async () => {
    const cookieOnly = await boot(platform);
    try {
      await expect(loginAsBearer(cookieOnly, 'erin')).rejects.toThrow(
        /needs 'header' in the SessionModule transport option/,
      );
    } finally {
      await cookieOnly.close();
    }
  });
});

describe('loginAs without SessionModule', () => {
  it('fails with a message that names what is missing', async () => {
    const moduleRef = await Test.createTestingModule({}).compile();
    await expect(loginAs(moduleRef, 'alice')).rejects.toThrow(
      'loginAs() needs an app (or testing module) that imports SessionModule',
    );
  });
});

describe('createFakeSession in a controller unit test', () => {
  let controller: NotesController;

  beforeAll(async () => {
    // No SessionModule: the controller alone, as a unit test has it.
    const moduleRef = await Test.createTestingModule({ controllers: [NotesController] }).compile();
    controller = moduleRef.get(NotesController);
  });

  it('is a typed SessionHandle the handlers take as it is', () => {
    const session = createFakeSession({ userId: 'alice', data: { roles: ['admin'] } });
    expect(controller.me(session)).toEqual({ userId: 'alice', roles: ['admin'] });
    expect(session.isAuthenticated).toBe(true);
    expect(session.authenticatedAt).toEqual(session.createdAt);

    const notes: string[] | undefined = session.get('notes');
    expect(notes).toBeUndefined();
    // @ts-expect-error: `notes` is declared as string[] by the app's SessionData.
    expect(() => createFakeSession({ data: { notes: 42 } })).not.toThrow();
  });

  it('records what the handler changed', () => {
    const session = createFakeSession({ userId: 'alice', data: { notes: ['a'] } });
    expect(controller.addNote(session, { text: 'b' })).toEqual({ notes: ['a', 'b'] });
    expect(session.get('notes')).toEqual(['a', 'b']);
    expect(session.data).toEqual({ notes: ['a', 'b'] });
    session.delete('notes');
    expect(session.data).toEqual({});
  });

  it('regenerate() moves the id and CSRF token and keeps the data; destroy() ends the session', async () => {
    const session = createFakeSession({ userId: 'alice', data: { notes: ['a'] } });
    const { id, csrfToken } = session;
    expect(session.regenerated).toBe(false);
    expect(await controller.rotate(session)).toEqual({ id: session.id });
    expect(session.regenerated).toBe(true);
    expect(session.id).not.toBe(id);
    expect(session.csrfToken).not.toBe(csrfToken);
    expect(session.get('notes')).toEqual(['a']);

    expect(session.destroyed).toBe(false);
    expect(await controller.logout(session)).toEqual({ loggedOut: true });
    expect(session.destroyed).toBe(true);
    expect(session.userId).toBeNull();
    expect(session.isAuthenticated).toBe(false);
    expect(session.authenticatedAt).toBeNull();
    expect(session.data).toEqual({});
  });

  it('keeps the real handle rules: checked keys, JSON values, anonymous by default', () => {
    const session = createFakeSession();
    expect(session.userId).toBeNull();
    expect(session.authenticatedAt).toBeNull();
    expect(session.bearerToken).toBeNull();

    expect(() => session.set('__proto__' as never, 1 as never)).toThrow(TypeError);
    const cart = ['x'];
    session.set('notes', cart);
    cart.push('changed after set');
    expect(session.get('notes')).toEqual(['x']);
    expect(() => session.set('notes', [() => 1] as never)).not.toThrow(); // JSON: [null]
    expect(session.get('notes')).toEqual([null]);
    session.set('notes', undefined as never);
    expect(session.data).toEqual({});
    expect(Object.isFrozen(session.data)).toBe(true);
  });
});

/** A replacement that lets a request in when it says `x-allow: yes`; it takes Nest DI. */
@Injectable()
class HeaderGuard implements CanActivate {
  constructor(readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    const headers = context.switchToHttp().getRequest<{ headers: Record<string, unknown> }>();
    return headers.headers['x-allow'] === 'yes';
  }
}

describe.each(PLATFORMS)('overrideGuard(SessionGuard) on %s', (platform) => {
  const apps: INestApplication[] = [];
  async function bootWith(
    override: (builder: TestingModuleBuilder) => TestingModuleBuilder,
  ): Promise<ReturnType<typeof request>> {
    const app = await boot(platform, {}, override);
    apps.push(app);
    return request(app.getHttpServer());
  }
  afterAll(async () => {
    await Promise.all(apps.map((app) => app.close()));
  });

  it('control: without an override the global guard and @UseGuards(SessionGuard) answer 401', async () => {
    const http = await bootWith((builder) => builder);
    await http.get('/me').expect(401);
    await http.get('/reports').expect(401);
    await http.get('/health').expect(200);
  });

  it('useValue reaches the global guard and @UseGuards(SessionGuard) alike', async () => {
    const http = await bootWith((builder) =>
      builder.overrideGuard(SessionGuard).useValue({ canActivate: () => true }),
    );
    expect((await http.get('/me').expect(200)).body).toEqual({ userId: null, roles: [] });
    await http.get('/admin').expect(200);
    await http.get('/reports').expect(200);
  });

  it('the override replaces the global guard rather than adding to it: a denying one denies @Public()', async () => {
    const http = await bootWith((builder) =>
      builder.overrideGuard(SessionGuard).useValue({ canActivate: () => false }),
    );
    await http.get('/health').expect(403);
  });

  it('useClass works too, with the replacement’s own dependencies injected', async () => {
    const http = await bootWith((builder) =>
      builder.overrideGuard(SessionGuard).useClass(HeaderGuard),
    );
    await http.get('/me').expect(403);
    await http.get('/me').set('x-allow', 'yes').expect(200);
    await http.get('/reports').set('x-allow', 'yes').expect(200);
  });
});
