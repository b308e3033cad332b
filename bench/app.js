// One NestJS app, the same five routes, in every variant of the benchmark, on Express or on
// Fastify (Nest's FastifyAdapter):
//
//   GET  /public   no session use (a logged-in visitor on a public page: the cookie is sent)
//   POST /login    creates an authenticated session and sets the cookie
//   GET  /me       authenticated read
//   POST /counter  authenticated write: increments `counter` in the session
//   POST /logout   ends the session
import 'reflect-metadata';
import { AsyncLocalStorage } from 'node:async_hooks';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import process from 'node:process';
import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  expressSessionVariant,
  fastifySecureSessionVariant,
  fastifySessionVariant,
  ironSessionVariant,
} from './anchors.js';
import { COOKIE_NAME } from './http-client.js';
import { PUBLIC_BODY, USERS, decorateClass, routes } from './nest-helpers.js';
import { variantNamed } from './variants.js';

export { VARIANTS } from './variants.js';

// ---------------------------------------------------------------------------------------------
// bare: the ceiling. No session library; fixed answers. bare-als: the same app, and an Express
// middleware that runs the rest of the request in `AsyncLocalStorage.run` with a store of its
// own, which the reading handlers look up: the floor of any design whose service finds the
// request without request scope.

function bareModule(als) {
  class BareController {
    count = 0;
    publicRoute() {
      return PUBLIC_BODY;
    }
    login() {
      return { userId: 'user-0' };
    }
    me() {
      als?.getStore();
      return { userId: 'user-0', roles: ['user'] };
    }
    counter() {
      als?.getStore();
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

function bareVariant(variant) {
  if (variant.kind !== 'bare-als') {
    return { ...bareModule(), setup: () => {}, close: async () => {}, notes: {} };
  }
  const als = new AsyncLocalStorage();
  return {
    ...bareModule(als),
    setup: (app) => app.use((req, _res, next) => als.run({ req }, next)),
    close: async () => {},
    notes: { middleware: '`(req, res, next) => als.run({ req }, next)`' },
  };
}

// ---------------------------------------------------------------------------------------------
// nest-secure-session (the built package, through its own name: dist/)

/**
 * What the built package offers, read from its exports and its declaration files: this
 * checkout's dist/ (through the package's own name), or, given `distDir`, another build's (the
 * BENCH_BASELINE one, bench/baseline.js).
 */
export async function nssFeatures(distDir) {
  let dist = distDir;
  if (dist === undefined) {
    const require = createRequire(import.meta.url);
    dist = join(dirname(require.resolve('nest-secure-session/package.json')), 'dist');
  }
  const nss = await (distDir === undefined
    ? import('nest-secure-session')
    : import(pathToFileURL(join(distDir, 'index.js')).href));
  let optionsDts = '';
  try {
    optionsDts = readFileSync(
      join(dist, 'interfaces/session-module-options.interface.d.ts'),
      'utf8',
    );
  } catch {
    // no declaration file: treat every optional feature as absent
  }
  return {
    nss,
    fastifyAdapter: existsSync(join(dist, 'platform/fastify.adapter.js')),
    redisStore: typeof nss.RedisStore === 'function',
    statelessMode: /store\?:[^;]*'cookie'/.test(optionsDts),
    csrfOption: /\bcsrf\?:\s*boolean/.test(optionsDts),
    encryptAtRestOption: /\bencryptAtRest\?:\s*boolean/.test(optionsDts),
  };
}

async function nssVariant(variant, { secret, redisPort }) {
  const notes = {};
  let distDir;
  if (variant.baseline !== undefined) {
    distDir = process.env.BENCH_BASELINE_DIST;
    if (!distDir) {
      return { unavailable: 'no baseline build (run with BENCH_BASELINE=<git ref>)' };
    }
    notes.build = `baseline ${process.env.BENCH_BASELINE_LABEL ?? distDir}`;
  }
  const features = await nssFeatures(distDir);
  const { nss } = features;
  if (variant.platform === 'fastify' && !features.fastifyAdapter) {
    return { unavailable: 'this build has no Fastify adapter (issue 8)' };
  }
  const options = { secret, cookie: { secure: false, name: COOKIE_NAME }, global: true };
  let close = async () => {};
  if (variant.store === 'redis') {
    if (!features.redisStore) {
      return { unavailable: '`RedisStore` is not exported by the built package (issue 3)' };
    }
    const { Redis } = await import('ioredis');
    // The client options of the README's RedisModule (node-redis, under connect-redis, batches
    // the commands of one tick by itself; ioredis does with enableAutoPipelining).
    const client = new Redis({
      host: '127.0.0.1',
      port: redisPort,
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      commandTimeout: 1_000,
      enableAutoPipelining: true,
    });
    client.on('error', (error) => console.error('ioredis client:', error.message));
    await client.connect();
    options.store = new nss.RedisStore({ client });
    close = async () => {
      await client.quit().catch(() => {});
    };
    notes.client =
      "ioredis with the README's options (enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 1000, enableAutoPipelining)";
  } else if (variant.store === 'cookie') {
    if (!features.statelessMode) {
      return {
        unavailable: "`store: 'cookie'` (stateless mode) is not in the built package (issue 4)",
      };
    }
    options.store = 'cookie';
  }
  if (variant.encryptAtRest !== undefined) {
    if (!features.encryptAtRestOption) {
      return { unavailable: '`encryptAtRest` is not an option of the built package' };
    }
    options.encryptAtRest = variant.encryptAtRest;
  }
  if (variant.store === 'redis' && features.encryptAtRestOption) {
    notes.encryptAtRest = variant.encryptAtRest === false ? 'false' : 'on (the default)';
  }
  // The CSRF layer (issue 4) guards unsafe methods by default. The anchors have none, so the
  // comparison turns it off when the option exists; otherwise the client sends the token.
  if (features.csrfOption) {
    options.csrf = false;
  }
  notes.csrf = features.csrfOption ? 'off (csrf: false)' : 'token sent when the handle has one';
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
  routes(NssController, {
    publicMark: Public(),
    params: { me: [Session()], counter: [Session()] },
  });
  decorateClass(NssController, [Controller()], [SessionService]);
  return {
    controllers: [NssController],
    providers: [],
    imports: [SessionModule.forRoot(options)],
    setup: () => {},
    close,
    notes,
  };
}

// ---------------------------------------------------------------------------------------------

const BUILDERS = {
  bare: bareVariant,
  'bare-als': bareVariant,
  nss: nssVariant,
  'express-session': expressSessionVariant,
  'iron-session': ironSessionVariant,
  'fastify-session': fastifySessionVariant,
  'fastify-secure-session': fastifySecureSessionVariant,
};

/**
 * Builds the Nest application of one variant (not listening yet). Resolves to
 * `{ app, close, notes }`, or `{ unavailable: reason }` when the built package lacks the feature.
 */
export async function createVariantApp(name, { secret, redisPort }) {
  const variant = variantNamed(name);
  if (variant === undefined) {
    throw new Error(`unknown variant ${name}`);
  }
  const definition = await BUILDERS[variant.kind](variant, { secret, redisPort });
  if (definition.unavailable) {
    return definition;
  }

  class AppModule {}
  decorateClass(AppModule, [
    Module({
      imports: definition.imports,
      controllers: definition.controllers,
      providers: definition.providers,
    }),
  ]);
  const logger = ['error', 'warn'];
  let app;
  if (variant.platform === 'fastify') {
    const { FastifyAdapter } = await import('@nestjs/platform-fastify');
    app = await NestFactory.create(AppModule, new FastifyAdapter(), { logger });
  } else {
    app = await NestFactory.create(AppModule, { logger });
  }
  await definition.setup(app);
  return {
    app,
    notes: definition.notes,
    async close() {
      await app.close();
      await definition.close();
    },
  };
}
