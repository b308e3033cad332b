// One NestJS app, the same five routes, in every variant of the benchmark.
//
//   GET  /public   no session use (a logged-in visitor on a public page: the cookie is sent)
//   POST /login    creates an authenticated session and sets the cookie
//   GET  /me       authenticated read
//   POST /counter  authenticated write: increments `counter` in the session
//   POST /logout   ends the session
//
// Plain JavaScript (no build step): decorators are applied with `Reflect.decorate`, exactly as
// TypeScript's emitted code does.
import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import {
  Controller,
  Get,
  HttpCode,
  HttpStatus,
  Injectable,
  Module,
  Post,
  Req,
  SetMetadata,
  UnauthorizedException,
} from '@nestjs/common';
import { APP_GUARD, NestFactory, Reflector } from '@nestjs/core';
import { COOKIE_NAME } from './http-client.js';

/** The variants, in report order. `anchor`: the established package an nss variant is held against. */
export const VARIANTS = [
  { name: 'bare', label: 'bare (no session library)', kind: 'bare' },
  { name: 'nss-memory', label: 'nest-secure-session, MemoryStore', kind: 'nss', store: 'memory' },
  { name: 'nss-redis', label: 'nest-secure-session, RedisStore', kind: 'nss', store: 'redis' },
  {
    name: 'nss-stateless',
    label: "nest-secure-session, store: 'cookie'",
    kind: 'nss',
    store: 'cookie',
  },
  {
    name: 'express-session',
    label: 'express-session, MemoryStore',
    kind: 'express-session',
    store: 'memory',
  },
  {
    name: 'connect-redis',
    label: 'express-session + connect-redis',
    kind: 'express-session',
    store: 'redis',
  },
  { name: 'iron-session', label: 'iron-session v8', kind: 'iron-session' },
];

/** nss variant → the anchor it is compared with. */
export const ANCHORS = {
  'nss-memory': 'express-session',
  'nss-redis': 'connect-redis',
  'nss-stateless': 'iron-session',
};

const IDLE_SECONDS = 30 * 60;
const ABSOLUTE_SECONDS = 12 * 60 * 60;
const USERS = 10_000;
const PUBLIC_BODY = Object.freeze({ public: true });

// ---------------------------------------------------------------------------------------------
// Decorator helpers (what `tsc --experimentalDecorators` emits).

function decorateClass(target, decorators, paramTypes = []) {
  Reflect.defineMetadata('design:paramtypes', paramTypes, target);
  Reflect.decorate(decorators, target);
}

function decorateMethod(target, method, decorators, parameterDecorators = []) {
  const prototype = target.prototype;
  for (const [index, decorator] of parameterDecorators.entries()) {
    decorator(prototype, method, index);
  }
  const descriptor = Object.getOwnPropertyDescriptor(prototype, method);
  Object.defineProperty(
    prototype,
    method,
    Reflect.decorate(decorators, prototype, method, descriptor),
  );
}

/**
 * Applies the same route table to every variant's controller. `param`: what the session-using
 * handlers receive (the request, or nest-secure-session's `@Session()`); `paramOn`: which ones.
 */
function routes(target, { publicMark, param, paramOn = [] }) {
  const mark = publicMark === undefined ? [] : [publicMark];
  const paramsOf = (method) => (param !== undefined && paramOn.includes(method) ? [param] : []);
  decorateMethod(target, 'publicRoute', [Get('public'), ...mark]);
  decorateMethod(target, 'login', [Post('login'), HttpCode(200), ...mark], paramsOf('login'));
  decorateMethod(target, 'me', [Get('me')], paramsOf('me'));
  decorateMethod(target, 'counter', [Post('counter'), HttpCode(200)], paramsOf('counter'));
  decorateMethod(target, 'logout', [Post('logout'), HttpCode(200), ...mark], paramsOf('logout'));
}

function unauthorized() {
  return new UnauthorizedException({
    statusCode: HttpStatus.UNAUTHORIZED,
    error: 'Unauthorized',
    message: 'A valid session is required: log in first',
  });
}

// ---------------------------------------------------------------------------------------------
// bare: the ceiling. No session library; fixed answers.

function bareModule() {
  class BareController {
    count = 0;
    publicRoute() {
      return PUBLIC_BODY;
    }
    login() {
      return { userId: 'user-0' };
    }
    me() {
      return { userId: 'user-0', roles: ['user'] };
    }
    counter() {
      return { counter: ++this.count };
    }
    logout() {
      return { loggedOut: true };
    }
  }
  routes(BareController, {});
  decorateClass(BareController, [Controller()]);
  return { controllers: [BareController], providers: [], imports: [] };
}

// ---------------------------------------------------------------------------------------------
// Guard of the anchor variants: the same shape as SessionGuard (a global guard, @Public opt-out).

const ANCHOR_PUBLIC = 'bench:public';
const AnchorPublic = () => SetMetadata(ANCHOR_PUBLIC, true);

function anchorGuard(isAuthenticated) {
  class AnchorGuard {
    constructor(reflector) {
      this.reflector = reflector;
    }
    canActivate(context) {
      if (
        this.reflector.getAllAndOverride(ANCHOR_PUBLIC, [context.getHandler(), context.getClass()])
      ) {
        return true;
      }
      const result = isAuthenticated(context.switchToHttp().getRequest());
      if (result === true) {
        return true;
      }
      if (result === false) {
        throw unauthorized();
      }
      return result.then((ok) => {
        if (!ok) {
          throw unauthorized();
        }
        return true;
      });
    }
  }
  decorateClass(AnchorGuard, [Injectable()], [Reflector]);
  return AnchorGuard;
}

// ---------------------------------------------------------------------------------------------
// express-session (MemoryStore or connect-redis)

function promisify(fn) {
  return new Promise((resolve, reject) => fn((error) => (error ? reject(error) : resolve())));
}

function expressSessionModule() {
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
      req.res.clearCookie(COOKIE_NAME, { path: '/', httpOnly: true, sameSite: 'lax' });
      return { loggedOut: true };
    }
  }
  routes(ExpressSessionController, {
    publicMark: AnchorPublic(),
    param: Req(),
    paramOn: ['login', 'me', 'counter', 'logout'],
  });
  decorateClass(ExpressSessionController, [Controller()]);
  const Guard = anchorGuard((req) => typeof req.session?.userId === 'string');
  return {
    controllers: [ExpressSessionController],
    providers: [{ provide: APP_GUARD, useClass: Guard }],
    imports: [],
  };
}

async function expressSessionMiddleware(variant, { secret, redisPort }) {
  const { default: session } = await import('express-session');
  let store;
  let close = async () => {};
  if (variant.store === 'redis') {
    const { RedisStore } = await import('connect-redis');
    const { createClient } = await import('redis');
    const client = createClient({ url: `redis://127.0.0.1:${redisPort}` });
    client.on('error', (error) => console.error('connect-redis client:', error.message));
    await client.connect();
    store = new RedisStore({ client, prefix: 'bench-cr:', ttl: IDLE_SECONDS });
    close = async () => {
      await client.quit().catch(() => {});
    };
  }
  const middleware = session({
    name: COOKIE_NAME,
    secret,
    resave: false,
    saveUninitialized: false,
    ...(store ? { store } : {}),
    cookie: { httpOnly: true, secure: false, sameSite: 'lax', path: '/' },
  });
  return { middleware, close };
}

// ---------------------------------------------------------------------------------------------
// iron-session: the sealed cookie, opened only by the handlers (and the guard) that need it.

async function ironSessionModule({ secret }) {
  const { getIronSession } = await import('iron-session');
  const options = {
    cookieName: COOKIE_NAME,
    password: secret,
    ttl: ABSOLUTE_SECONDS,
    cookieOptions: { httpOnly: true, secure: false, sameSite: 'lax', path: '/' },
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
  routes(IronSessionController, {
    publicMark: AnchorPublic(),
    param: Req(),
    paramOn: ['login', 'me', 'counter', 'logout'],
  });
  decorateClass(IronSessionController, [Controller()]);
  const Guard = anchorGuard((req) =>
    ironOf(req).then((session) => typeof session.userId === 'string'),
  );
  return {
    controllers: [IronSessionController],
    providers: [{ provide: APP_GUARD, useClass: Guard }],
    imports: [],
  };
}

// ---------------------------------------------------------------------------------------------
// nest-secure-session (the built package, through its own name: dist/)

/** What the built package offers, read from its exports and its declaration files. */
export async function nssFeatures() {
  const nss = await import('nest-secure-session');
  const require = createRequire(import.meta.url);
  const root = dirname(require.resolve('nest-secure-session/package.json'));
  let optionsDts = '';
  try {
    optionsDts = readFileSync(
      join(root, 'dist/interfaces/session-module-options.interface.d.ts'),
      'utf8',
    );
  } catch {
    // no declaration file: treat every optional feature as absent
  }
  return {
    nss,
    redisStore: typeof nss.RedisStore === 'function',
    statelessMode: /store\?:[^;]*'cookie'/.test(optionsDts),
    csrfOption: /\bcsrf\?:\s*boolean/.test(optionsDts),
  };
}

async function nssModule(variant, { secret, redisPort }) {
  const features = await nssFeatures();
  const { nss } = features;
  const options = { secret, cookie: { secure: false, name: COOKIE_NAME }, global: true };
  let close = async () => {};
  if (variant.store === 'redis') {
    if (!features.redisStore) {
      return { unavailable: '`RedisStore` is not exported by the built package (issue 3)' };
    }
    const { Redis } = await import('ioredis');
    // The client configuration the README recommends (node-redis, under connect-redis, batches
    // the commands of one tick by itself; ioredis does with enableAutoPipelining).
    const client = new Redis({
      host: '127.0.0.1',
      port: redisPort,
      lazyConnect: true,
      enableAutoPipelining: true,
    });
    client.on('error', (error) => console.error('ioredis client:', error.message));
    await client.connect();
    options.store = new nss.RedisStore({ client });
    close = async () => {
      await client.quit().catch(() => {});
    };
  } else if (variant.store === 'cookie') {
    if (!features.statelessMode) {
      return {
        unavailable: "`store: 'cookie'` (stateless mode) is not in the built package (issue 4)",
      };
    }
    options.store = 'cookie';
  }
  // The CSRF layer (issue 4) guards unsafe methods by default. The anchors have none, so the
  // comparison turns it off when the option exists; otherwise the client sends the token.
  if (features.csrfOption) {
    options.csrf = false;
  }
  const { Public, Session, SessionModule, SessionService } = nss;

  class NssController {
    logins = 0;
    constructor(sessions) {
      this.sessions = sessions;
    }
    publicRoute() {
      return PUBLIC_BODY;
    }
    async login() {
      const userId = `user-${this.logins++ % USERS}`;
      const session = await this.sessions.login(userId, { roles: ['user'], counter: 0 });
      const body = { userId };
      if (!features.csrfOption && typeof session.csrfToken === 'string') {
        body.csrfToken = session.csrfToken;
      }
      return body;
    }
    me(session) {
      return { userId: session.userId, roles: session.get('roles') };
    }
    counter(session) {
      const counter = (session.get('counter') ?? 0) + 1;
      session.set('counter', counter);
      return { counter };
    }
    async logout() {
      await this.sessions.logout();
      return { loggedOut: true };
    }
  }
  routes(NssController, { publicMark: Public(), param: Session(), paramOn: ['me', 'counter'] });
  decorateClass(NssController, [Controller()], [SessionService]);
  return {
    controllers: [NssController],
    providers: [],
    imports: [SessionModule.forRoot(options)],
    close,
    csrf: features.csrfOption ? 'off (csrf: false)' : 'token sent when the handle has one',
  };
}

// ---------------------------------------------------------------------------------------------

/**
 * Builds the Nest application of one variant (not listening yet). Resolves to
 * `{ app, close, notes }`, or `{ unavailable: reason }` when the built package lacks the feature.
 */
export async function createVariantApp(name, { secret, redisPort }) {
  const variant = VARIANTS.find((v) => v.name === name);
  if (variant === undefined) {
    throw new Error(`unknown variant ${name}`);
  }
  let definition;
  let middleware;
  let close = async () => {};
  const notes = {};
  if (variant.kind === 'bare') {
    definition = bareModule();
  } else if (variant.kind === 'nss') {
    definition = await nssModule(variant, { secret, redisPort });
    if (definition.unavailable) {
      return definition;
    }
    close = definition.close;
    notes.csrf = definition.csrf;
    if (variant.store === 'redis') {
      notes.client = 'ioredis, enableAutoPipelining (as the README recommends)';
    }
  } else if (variant.kind === 'express-session') {
    definition = expressSessionModule();
    const built = await expressSessionMiddleware(variant, { secret, redisPort });
    middleware = built.middleware;
    close = built.close;
    notes.options = 'resave: false, saveUninitialized: false';
    if (variant.store === 'redis') {
      notes.client = 'node-redis (`redis`), default options';
    }
  } else {
    definition = await ironSessionModule({ secret });
  }

  class AppModule {}
  decorateClass(AppModule, [
    Module({
      imports: definition.imports,
      controllers: definition.controllers,
      providers: definition.providers,
    }),
  ]);
  const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] });
  if (middleware !== undefined) {
    app.use(middleware);
  }
  return {
    app,
    notes,
    async close() {
      await app.close();
      await close();
    },
  };
}
