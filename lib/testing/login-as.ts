import type { INestApplicationContext } from '@nestjs/common';
import { SESSION_RUNTIME, type SessionRuntime } from '../core/session-runtime.js';
import { SessionState } from '../core/session-state.js';
import type { SessionData } from '../interfaces/session-data.interface.js';
import type { SessionTransport } from '../interfaces/session-module-options.interface.js';
import { CapturedExchange } from './captured.exchange.js';

/**
 * Options of `loginAs` and `loginAsBearer`.
 *
 * @example
 * ```ts
 * await loginAs(app, 'alice', {}, { userAgent: 'Mozilla/5.0 (test)' });
 * ```
 */
export interface LoginAsOptions {
  /** The `User-Agent` the session records (what `listForUser()` shows). Default: none. */
  userAgent?: string;
}

/**
 * A cookie session `loginAs` created, ready for a test client.
 *
 * @example
 * ```ts
 * const { cookie, csrfToken } = await loginAs(app, 'alice');
 * await request(server).post('/notes').set('Cookie', cookie).set('x-csrf-token', csrfToken);
 * ```
 */
export interface CookieLogin {
  /** `name=value` of the session cookie, for a `Cookie` request header. */
  readonly cookie: string;
  /** The session's CSRF token, for unsafe requests (`x-csrf-token` by default). */
  readonly csrfToken: string;
  /** Both at once: `{ cookie, 'x-csrf-token': csrfToken }` (the app's CSRF header name). */
  readonly headers: Readonly<Record<string, string>>;
  /** Public id of the session (what `revoke()` and `listForUser()` use). */
  readonly sessionId: string;
}

/**
 * A bearer session `loginAsBearer` created, ready for a test client.
 *
 * @example
 * ```ts
 * const { token } = await loginAsBearer(app, 'alice');
 * await request(server).get('/me').set('Authorization', `Bearer ${token}`);
 * ```
 */
export interface BearerLogin {
  /** The token for `Authorization: Bearer`. */
  readonly token: string;
  /** `{ authorization: 'Bearer <token>' }`. Unsafe requests need no CSRF token with it. */
  readonly headers: Readonly<Record<string, string>>;
  /** Public id of the session. */
  readonly sessionId: string;
}

/**
 * What `loginAs` needs of the app: an `INestApplication`, a `TestingModule` or an app context.
 *
 * @example
 * ```ts
 * const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
 * const app = await moduleRef.createNestApplication().init();
 * await loginAs(app, 'alice'); // or loginAs(moduleRef, 'alice')
 * ```
 */
export type SessionApp = Pick<INestApplicationContext, 'get'>;

/**
 * Logs `userId` in on a running app, for its own e2e tests, with no login route and no
 * request: it creates a real session exactly as `SessionService.login()` does (through the
 * app's store, options and clock: memory, Redis or `store: 'cookie'`, on any platform) and
 * returns the cookie and CSRF token a client would have got. Send the cookie as a raw header:
 * it is `Secure`, so a cookie jar (supertest's `agent`) drops it over plain HTTP.
 *
 * @example
 * ```ts
 * const { cookie, headers } = await loginAs(app, 'alice', { roles: ['admin'] });
 * await request(app.getHttpServer()).get('/admin').set('Cookie', cookie).expect(200);
 * await request(app.getHttpServer()).post('/notes').set(headers).send({ text: 'hi' }).expect(201);
 * ```
 */
export async function loginAs(
  app: SessionApp,
  userId: string | number,
  data: Partial<SessionData> = {},
  options: LoginAsOptions = {},
): Promise<CookieLogin> {
  const { runtime, state, exchange } = await committedLogin(app, userId, data, options, 'cookie');
  const { name } = runtime.options.cookie;
  const setCookie = exchange.cookies.get(name);
  if (setCookie === undefined) {
    throw new Error(`loginAs(): the login set no '${name}' cookie`);
  }
  const cookie = setCookie.split(';')[0];
  const csrfToken = state.csrfToken;
  return {
    cookie,
    csrfToken,
    headers: { cookie, [runtime.options.csrf.headerName]: csrfToken },
    sessionId: state.id,
  };
}

/**
 * `loginAs` for API clients: a session on the header transport (the app's `transport` option
 * must include `'header'`), as `login(userId, data, { transport: 'header' })` creates it.
 *
 * @example
 * ```ts
 * const { headers } = await loginAsBearer(app, 'alice');
 * await request(app.getHttpServer()).post('/notes').set(headers).send({ text: 'hi' }).expect(201);
 * ```
 */
export async function loginAsBearer(
  app: SessionApp,
  userId: string | number,
  data: Partial<SessionData> = {},
  options: LoginAsOptions = {},
): Promise<BearerLogin> {
  const { state } = await committedLogin(app, userId, data, options, 'header');
  const token = state.bearerToken as string;
  return { token, headers: { authorization: `Bearer ${token}` }, sessionId: state.id };
}

async function committedLogin(
  app: SessionApp,
  userId: string | number,
  data: Partial<SessionData>,
  options: LoginAsOptions,
  transport: SessionTransport,
): Promise<{ runtime: SessionRuntime; state: SessionState; exchange: CapturedExchange }> {
  const runtime = runtimeOf(app);
  const exchange = new CapturedExchange(
    options.userAgent === undefined ? {} : { 'user-agent': options.userAgent },
  );
  const state = new SessionState(runtime, exchange);
  await state.login(userId, data, { transport });
  await state.commit();
  return { runtime, state, exchange };
}

function runtimeOf(app: SessionApp): SessionRuntime {
  try {
    return app.get<SessionRuntime>(SESSION_RUNTIME, { strict: false });
  } catch (error) {
    throw new Error('loginAs() needs an app (or testing module) that imports SessionModule', {
      cause: error,
    });
  }
}
