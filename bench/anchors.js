// The established packages nest-secure-session is held against, each wired into the same Nest app
// the way its documentation shows: express-session (its MemoryStore or connect-redis) and
// iron-session on Express; @fastify/session (its memory store or connect-redis, which implements
// the express-session store API that @fastify/session takes) and @fastify/secure-session on
// Fastify. Each resolves to `{ controllers, providers, imports, setup(app), close(), notes }`.
import { Controller, Req, Res } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { COOKIE_NAME } from './http-client.js';
import {
  ABSOLUTE_SECONDS,
  AnchorPublic,
  IDLE_SECONDS,
  PUBLIC_BODY,
  USERS,
  anchorGuard,
  decorateClass,
  routes,
} from './nest-helpers.js';

const COOKIE = { httpOnly: true, secure: false, sameSite: 'lax', path: '/' };

function promisify(fn) {
  return new Promise((resolve, reject) => fn((error) => (error ? reject(error) : resolve())));
}

/** connect-redis on its own node-redis client (the client its README uses). */
async function connectRedisStore(redisPort, prefix) {
  const { RedisStore } = await import('connect-redis');
  const { createClient } = await import('redis');
  const client = createClient({ url: `redis://127.0.0.1:${redisPort}` });
  client.on('error', (error) => console.error('connect-redis client:', error.message));
  await client.connect();
  return {
    store: new RedisStore({ client, prefix, ttl: IDLE_SECONDS }),
    close: async () => {
      await client.quit().catch(() => {});
    },
  };
}

/** A module whose controller reads `req.session` through `@Req()`, and its global guard. */
function sessionModule(ControllerClass, isAuthenticated, params) {
  routes(ControllerClass, { publicMark: AnchorPublic(), params });
  decorateClass(ControllerClass, [Controller()]);
  return {
    controllers: [ControllerClass],
    providers: [{ provide: APP_GUARD, useClass: anchorGuard(isAuthenticated) }],
    imports: [],
  };
}

// ---------------------------------------------------------------------------------------------
// express-session (MemoryStore or connect-redis)

export async function expressSessionVariant(variant, { secret, redisPort }) {
  class ExpressSessionController {
    logins = 0;
    publicRoute() {
      return PUBLIC_BODY;
    }
    async login(req) {
      await promisify((done) => req.session.regenerate(done));
      const userId = `user-${this.logins++ % USERS}`;
      req.session.userId = userId;
      req.session.roles = ['user'];
      req.session.counter = 0;
      return { userId };
    }
    me(req) {
      return { userId: req.session.userId, roles: req.session.roles };
    }
    counter(req) {
      const counter = (req.session.counter ?? 0) + 1;
      req.session.counter = counter;
      return { counter };
    }
    async logout(req) {
      if (req.session) {
        await promisify((done) => req.session.destroy(done));
      }
      req.res.clearCookie(COOKIE_NAME, COOKIE);
      return { loggedOut: true };
    }
  }
  const definition = sessionModule(
    ExpressSessionController,
    (req) => typeof req.session?.userId === 'string',
    { login: [Req()], me: [Req()], counter: [Req()], logout: [Req()] },
  );
  const { default: session } = await import('express-session');
  const redis =
    variant.store === 'redis' ? await connectRedisStore(redisPort, 'bench-cr:') : undefined;
  const middleware = session({
    name: COOKIE_NAME,
    secret,
    resave: false,
    saveUninitialized: false,
    ...(redis ? { store: redis.store } : {}),
    cookie: COOKIE,
  });
  return {
    ...definition,
    setup: (app) => app.use(middleware),
    close: redis?.close ?? (async () => {}),
    notes: {
      options: 'resave: false, saveUninitialized: false',
      ...(redis ? { client: 'node-redis (`redis`), default options' } : {}),
    },
  };
}

// ---------------------------------------------------------------------------------------------
// iron-session: the sealed cookie, opened only by the handlers (and the guard) that need it.

export async function ironSessionVariant(_variant, { secret }) {
  const { getIronSession } = await import('iron-session');
  const options = {
    cookieName: COOKIE_NAME,
    password: secret,
    ttl: ABSOLUTE_SECONDS,
    cookieOptions: COOKIE,
  };
  const IRON = Symbol('bench.iron-session');
  const ironOf = (req) => (req[IRON] ??= getIronSession(req, req.res, options));

  class IronSessionController {
    logins = 0;
    publicRoute() {
      return PUBLIC_BODY;
    }
    async login(req) {
      const session = await ironOf(req);
      const userId = `user-${this.logins++ % USERS}`;
      session.userId = userId;
      session.roles = ['user'];
      session.counter = 0;
      await session.save();
      return { userId };
    }
    async me(req) {
      const session = await ironOf(req);
      return { userId: session.userId, roles: session.roles };
    }
    async counter(req) {
      const session = await ironOf(req);
      const counter = (session.counter ?? 0) + 1;
      session.counter = counter;
      await session.save();
      return { counter };
    }
    async logout(req) {
      const session = await ironOf(req);
      session.destroy();
      return { loggedOut: true };
    }
  }
  const definition = sessionModule(
    IronSessionController,
    (req) => ironOf(req).then((session) => typeof session.userId === 'string'),
    { login: [Req()], me: [Req()], counter: [Req()], logout: [Req()] },
  );
  return { ...definition, setup: () => {}, close: async () => {}, notes: {} };
}

// ---------------------------------------------------------------------------------------------
// @fastify/session (+ @fastify/cookie), its memory store or connect-redis

export async function fastifySessionVariant(variant, { secret, redisPort }) {
  class FastifySessionController {
    logins = 0;
    publicRoute() {
      return PUBLIC_BODY;
    }
    async login(req) {
      await req.session.regenerate();
      const userId = `user-${this.logins++ % USERS}`;
      req.session.set('userId', userId);
      req.session.set('roles', ['user']);
      req.session.set('counter', 0);
      return { userId };
    }
    me(req) {
      return { userId: req.session.get('userId'), roles: req.session.get('roles') };
    }
    counter(req) {
      const counter = (req.session.get('counter') ?? 0) + 1;
      req.session.set('counter', counter);
      return { counter };
    }
    async logout(req, reply) {
      await req.session?.destroy();
      reply.clearCookie(COOKIE_NAME, { path: '/' });
      return { loggedOut: true };
    }
  }
  const definition = sessionModule(
    FastifySessionController,
    (req) => typeof req.session?.get('userId') === 'string',
    {
      login: [Req()],
      me: [Req()],
      counter: [Req()],
      logout: [Req(), Res({ passthrough: true })],
    },
  );
  const { default: fastifyCookie } = await import('@fastify/cookie');
  const { default: fastifySession } = await import('@fastify/session');
  const redis =
    variant.store === 'redis' ? await connectRedisStore(redisPort, 'bench-fs:') : undefined;
  return {
    ...definition,
    async setup(app) {
      await app.register(fastifyCookie);
      await app.register(fastifySession, {
        secret,
        cookieName: COOKIE_NAME,
        cookie: COOKIE,
        // express-session's resave: false / saveUninitialized: false: save only what changed.
        saveUninitialized: false,
        rolling: false,
        ...(redis ? { store: redis.store } : {}),
      });
    },
    close: redis?.close ?? (async () => {}),
    notes: {
      options:
        'saveUninitialized: false, rolling: false (no idle-expiry renewal: @fastify/session has no touch)',
      ...(redis ? { store: 'connect-redis on node-redis (`redis`), default options' } : {}),
    },
  };
}

// ---------------------------------------------------------------------------------------------
// @fastify/secure-session: libsodium secretbox in the cookie, decoded on every request.

export async function fastifySecureSessionVariant(_variant, { secret }) {
  class FastifySecureSessionController {
    logins = 0;
    publicRoute() {
      return PUBLIC_BODY;
    }
    login(req) {
      req.session.regenerate();
      const userId = `user-${this.logins++ % USERS}`;
      req.session.set('userId', userId);
      req.session.set('roles', ['user']);
      req.session.set('counter', 0);
      return { userId };
    }
    me(req) {
      return { userId: req.session.get('userId'), roles: req.session.get('roles') };
    }
    counter(req) {
      const counter = (req.session.get('counter') ?? 0) + 1;
      req.session.set('counter', counter);
      return { counter };
    }
    logout(req) {
      req.session.delete();
      return { loggedOut: true };
    }
  }
  const definition = sessionModule(
    FastifySecureSessionController,
    (req) => typeof req.session?.get('userId') === 'string',
    { login: [Req()], me: [Req()], counter: [Req()], logout: [Req()] },
  );
  const { default: fastifySecureSession } = await import('@fastify/secure-session');
  // The benchmark's secret is 32 random bytes in base64url: libsodium's secretbox key size.
  const key = Buffer.from(secret, 'base64url');
  return {
    ...definition,
    async setup(app) {
      await app.register(fastifySecureSession, {
        key,
        cookieName: COOKIE_NAME,
        expiry: ABSOLUTE_SECONDS,
        cookie: COOKIE,
      });
    },
    close: async () => {},
    notes: { options: `expiry: ${ABSOLUTE_SECONDS} s` },
  };
}
