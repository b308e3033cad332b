import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { MemoryStore, SessionStore } from 'nest-secure-session';
import request from 'supertest';
import {
  createGraphQLApp,
  GRAPHQL_DRIVERS,
  TRUSTED_ORIGIN,
  type GraphQLDriverName,
} from './fixtures/graphql-app.js';
import type { FakeClock } from './fixtures/test-app.js';
import {
  COOKIE_NAME,
  cookieFrom,
  expectDefaultClearingCookie,
  parseSetCookieHeader,
  sessionSetCookies,
  theSessionSetCookie,
} from './fixtures/session-helpers.js';
import { connect, run, subscribeOnce } from './support/graphql-ws-client.js';

interface GraphQLError {
  message: string;
  path?: string[];
  extensions?: Record<string, unknown>;
}

interface GraphQLBody {
  data?: Record<string, unknown> | null;
  errors?: GraphQLError[];
}

interface Caller {
  cookie?: string;
  csrfToken?: string;
  headers?: Record<string, string>;
}

const UNAUTHENTICATED = /^A valid session is required: log in first$/;
const ROLE_REQUIRED = /^This route requires the role\(s\): admin$/;
const NOT_FRESH = /^This operation needs a recent login: authenticate again$/;
const CSRF_TOKEN = /^Missing or invalid CSRF token/;
const CROSS_SITE = /^Cross-site request refused \(Sec-Fetch-Site: (cross-site|same-site)\)$/;
const UNTRUSTED_ORIGIN = /^Request from an untrusted origin refused$/;

/** POSTs one GraphQL operation as JSON, with the caller's cookie, CSRF token and headers. */
function gql(url: string, query: string, caller: Caller = {}) {
  let call = request(url).post('/graphql');
  if (caller.cookie !== undefined) {
    call = call.set('Cookie', caller.cookie);
  }
  if (caller.csrfToken !== undefined) {
    call = call.set('x-csrf-token', caller.csrfToken);
  }
  for (const [name, value] of Object.entries(caller.headers ?? {})) {
    call = call.set(name, value);
  }
  return call.send({ query });
}

/**
 * The denial of `field` by a guard: an error naming the field with the guard's message and
 * nothing in `data`. Apollo also carries the HTTP meaning (`UNAUTHENTICATED` / `FORBIDDEN` and
 * the exception's body under `originalError`); Mercurius's default formatter keeps the message.
 */
function expectDenied(
  driver: GraphQLDriverName,
  response: request.Response,
  field: string,
  status: 401 | 403,
  message: RegExp,
): GraphQLError {
  const body = response.body as GraphQLBody;
  expect(body.data?.[field] ?? null).toBeNull();
  expect(body.errors).toHaveLength(1);
  const [error] = body.errors as GraphQLError[];
  expect(error.message).toMatch(message);
  expect(error.path).toEqual([field]);
  if (driver === 'apollo') {
    expect(error.extensions).toMatchObject({
      code: status === 401 ? 'UNAUTHENTICATED' : 'FORBIDDEN',
      originalError: { statusCode: status, message: expect.stringMatching(message) },
    });
  }
  return error;
}

/** A successful result: the data, and no errors. */
function dataOf(response: request.Response): Record<string, unknown> {
  const body = response.body as GraphQLBody;
  expect(response.status).toBe(200);
  expect(body.errors).toBeUndefined();
  return body.data as Record<string, unknown>;
}

describe.each(GRAPHQL_DRIVERS)('GraphQL (%s)', (driver) => {
  let app: INestApplication;
  let url: string;
  let clock: FakeClock;

  beforeAll(async () => {
    ({ app, url, clock } = await createGraphQLApp(driver, { transport: ['cookie', 'header'] }));
  });
  afterAll(async () => {
    await app.close();
  });
  afterEach(() => {
    jest.restoreAllMocks();
  });

  /** Logs in through the `login` mutation: the session cookie and its CSRF token. */
  async function login(
    userId = 'alice',
    roles: string[] = ['user'],
  ): Promise<{ cookie: string; csrfToken: string; id: string; response: request.Response }> {
    const response = await gql(
      url,
      `mutation { login(userId: "${userId}", roles: ${JSON.stringify(roles)}) { id csrfToken } }`,
    );
    const { login: result } = dataOf(response) as { login: { id: string; csrfToken: string } };
    return { cookie: cookieFrom(response), ...result, response };
  }

  async function counterOf(cookie: string): Promise<unknown> {
    const data = dataOf(await gql(url, '{ me { counter } }', { cookie }));
    return (data.me as { counter: number | null }).counter;
  }

  describe('fails closed for anonymous callers', () => {
    it('denies a @Roles("admin") resolver under the global guard: an error, no data', async () => {
      const response = await gql(url, '{ adminStats }');
      expectDenied(driver, response, 'adminStats', 401, UNAUTHENTICATED);
    });

    it('denies an undecorated resolver under the global guard', async () => {
      expectDenied(driver, await gql(url, '{ open }'), 'open', 401, UNAUTHENTICATED);
    });

    it('denies a resolver taking @Session()', async () => {
      expectDenied(driver, await gql(url, '{ me { userId } }'), 'me', 401, UNAUTHENTICATED);
    });

    it('lets only the @Public() fields of a mixed query through', async () => {
      const body = (await gql(url, '{ hello adminStats }')).body as GraphQLBody;
      expect(body.data).toEqual({ hello: 'world', adminStats: null });
      expect(body.errors?.map((error) => error.path)).toEqual([['adminStats']]);
    });
  });

  describe('@UseGuards(SessionGuard) without the global guard', () => {
    let local: INestApplication;
    let localUrl: string;

    beforeAll(async () => {
      ({ app: local, url: localUrl } = await createGraphQLApp(driver, { global: false }));
    });
    afterAll(async () => {
      await local.close();
    });

    it('denies an anonymous caller on a guarded method and a guarded class', async () => {
      expectDenied(driver, await gql(localUrl, '{ guarded }'), 'guarded', 401, UNAUTHENTICATED);
      expectDenied(
        driver,
        await gql(localUrl, '{ guardedReport }'),
        'guardedReport',
        401,
        UNAUTHENTICATED,
      );
    });

    it('lets a logged-in caller through, and leaves unguarded resolvers open', async () => {
      const loginResponse = await gql(localUrl, 'mutation { login(userId: "alice") { id } }');
      const cookie = cookieFrom(loginResponse);
      expect(dataOf(await gql(localUrl, '{ guarded guardedReport }', { cookie }))).toEqual({
        guarded: 'guarded',
        guardedReport: 'guarded report',
      });
      expect(dataOf(await gql(localUrl, '{ open }'))).toEqual({ open: 'open' });
    });
  });

  describe('decorators on resolver methods and classes', () => {
    it('@Public() on a method and on a class: no session needed', async () => {
      expect(dataOf(await gql(url, '{ hello status whoami }'))).toEqual({
        hello: 'world',
        status: 'up',
        whoami: 'anonymous',
      });
    });

    it('@Session() resolves the caller in a guarded and in a @Public() resolver', async () => {
      const { cookie, id } = await login('alice');
      expect(dataOf(await gql(url, '{ me { userId id roles } whoami }', { cookie }))).toEqual({
        me: { userId: 'alice', id, roles: ['user'] },
        whoami: 'alice',
      });
    });

    it('@Roles() on a method and on a class: 403 meaning for a user without the role', async () => {
      const { cookie } = await login('alice', ['user']);
      expectDenied(
        driver,
        await gql(url, '{ adminStats }', { cookie }),
        'adminStats',
        403,
        ROLE_REQUIRED,
      );
      expectDenied(
        driver,
        await gql(url, '{ adminReport }', { cookie }),
        'adminReport',
        403,
        ROLE_REQUIRED,
      );
    });

    it('@Roles() lets a caller with the role through', async () => {
      const { cookie } = await login('root', ['user', 'admin']);
      expect(dataOf(await gql(url, '{ adminStats adminReport }', { cookie }))).toEqual({
        adminStats: 'stats',
        adminReport: 'report',
      });
    });

    it('@FreshSession() on a method and on a class: passes after login, then asks to re-authenticate', async () => {
      const { cookie } = await login('alice');
      expect(dataOf(await gql(url, '{ sensitive freshSecret }', { cookie }))).toEqual({
        sensitive: 'sensitive',
        freshSecret: 'secret',
      });

      clock.advance(6 * 60_000);
      for (const field of ['sensitive', 'freshSecret']) {
        const error = expectDenied(
          driver,
          await gql(url, `{ ${field} }`, { cookie }),
          field,
          401,
          NOT_FRESH,
        );
        if (driver === 'apollo') {
          expect(error.extensions?.originalError).toMatchObject({ reauthenticate: true });
        }
      }
      // Still logged in: only the freshness is missing.
      expect(dataOf(await gql(url, '{ me { userId } }', { cookie }))).toEqual({
        me: { userId: 'alice' },
      });
    });
  });

  describe('SessionService in resolvers', () => {
    it('current() answers the caller, or no user', async () => {
      expect(dataOf(await gql(url, '{ current }'))).toEqual({ current: null });
      const { cookie } = await login('alice');
      expect(dataOf(await gql(url, '{ current }', { cookie }))).toEqual({ current: 'alice' });
    });

    it('login() from a mutation sets the hardened session cookie, which works for a protected query', async () => {
      const { cookie, id, response } = await login('alice');
      const setCookie = parseSetCookieHeader(theSessionSetCookie(response));
      expect(setCookie.name).toBe(COOKIE_NAME);
      expect(setCookie.attributes).toEqual({
        path: '/',
        httponly: true,
        secure: true,
        samesite: 'Lax',
      });
      expect(response.headers['cache-control']).toBe('private, no-store');
      expect(dataOf(await gql(url, '{ me { userId id } }', { cookie }))).toEqual({
        me: { userId: 'alice', id },
      });
    });

    it('login() replaces a session the caller already had (a new id, the old one ends)', async () => {
      const first = await login('alice');
      const response = await gql(url, 'mutation { login(userId: "alice") { id } }', {
        cookie: first.cookie,
        csrfToken: first.csrfToken,
      });
      const second = cookieFrom(response);
      expect(second).not.toBe(first.cookie);
      expectDenied(
        driver,
        await gql(url, '{ me { userId } }', { cookie: first.cookie }),
        'me',
        401,
        UNAUTHENTICATED,
      );
      expect(dataOf(await gql(url, '{ me { userId } }', { cookie: second }))).toEqual({
        me: { userId: 'alice' },
      });
    });

    it('logout() from a mutation clears the cookie and ends the session', async () => {
      const { cookie, csrfToken } = await login('alice');
      const response = await gql(url, 'mutation { logout }', { cookie, csrfToken });
      expect(dataOf(response)).toEqual({ logout: true });
      expectDefaultClearingCookie(theSessionSetCookie(response));
      expectDenied(
        driver,
        await gql(url, '{ me { userId } }', { cookie }),
        'me',
        401,
        UNAUTHENTICATED,
      );
    });
  });

  describe('CSRF on mutations, as on unsafe HTTP requests', () => {
    it("refuses a mutation with the victim's cookie and no token (403 meaning); nothing changes", async () => {
      const { cookie } = await login('victim');
      const response = await gql(url, 'mutation { increment }', { cookie });
      expectDenied(driver, response, 'increment', 403, CSRF_TOKEN);
      expect(await counterOf(cookie)).toBeNull();
    });

    it('refuses a cross-site mutation even with the token', async () => {
      const { cookie, csrfToken } = await login('victim');
      const crossSite = await gql(url, 'mutation { increment }', {
        cookie,
        csrfToken,
        headers: { 'sec-fetch-site': 'cross-site' },
      });
      expectDenied(driver, crossSite, 'increment', 403, CROSS_SITE);
      const foreign = await gql(url, 'mutation { increment }', {
        cookie,
        csrfToken,
        headers: { origin: 'https://evil.example' },
      });
      expectDenied(driver, foreign, 'increment', 403, UNTRUSTED_ORIGIN);
      const sameSiteUntrusted = await gql(url, 'mutation { increment }', {
        cookie,
        csrfToken,
        headers: { 'sec-fetch-site': 'same-site', origin: 'https://sub.example.com' },
      });
      expectDenied(driver, sameSiteUntrusted, 'increment', 403, CROSS_SITE);
      expect(await counterOf(cookie)).toBeNull();
    });

    it('passes a mutation with the token in x-csrf-token, from the own or a trusted origin', async () => {
      const { cookie, csrfToken } = await login('alice');
      expect(dataOf(await gql(url, 'mutation { increment }', { cookie, csrfToken }))).toEqual({
        increment: 1,
      });
      const host = new URL(url).host;
      const own = await gql(url, 'mutation { increment }', {
        cookie,
        csrfToken,
        headers: { origin: `http://${host}`, 'sec-fetch-site': 'same-origin' },
      });
      expect(dataOf(own)).toEqual({ increment: 2 });
      const trusted = await gql(url, 'mutation { increment }', {
        cookie,
        csrfToken,
        headers: { origin: TRUSTED_ORIGIN, 'sec-fetch-site': 'same-site' },
      });
      expect(dataOf(trusted)).toEqual({ increment: 3 });
      expect(await counterOf(cookie)).toBe(3);
    });

    it('passes a query over POST without a token, even cross-site', async () => {
      const { cookie } = await login('alice');
      const response = await gql(url, '{ me { userId } }', {
        cookie,
        headers: { 'sec-fetch-site': 'cross-site' },
      });
      expect(dataOf(response)).toEqual({ me: { userId: 'alice' } });
    });

    it('exempts a bearer-token session (no ambient credentials)', async () => {
      const token = dataOf(await gql(url, 'mutation { loginToken(userId: "api") }'))
        .loginToken as string;
      const response = await gql(url, 'mutation { increment }', {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(dataOf(response)).toEqual({ increment: 1 });
    });

    it('refuses a mutation sent as GET, even with the token', async () => {
      const { cookie, csrfToken } = await login('alice');
      const viaGet = (headers: Record<string, string>) =>
        request(url)
          .get('/graphql')
          .query({ query: 'mutation { increment }' })
          .set('Cookie', cookie)
          .set('x-csrf-token', csrfToken)
          .set(headers);

      // Apollo's own CSRF prevention refuses a GET without a preflight-forcing header; with one,
      // Apollo and Mercurius both refuse a mutation over GET before any resolver runs.
      const plain = await viaGet({});
      expect(plain.status).toBe(driver === 'apollo' ? 400 : 405);
      const preflighted = await viaGet({
        'apollo-require-preflight': 'true',
        'content-type': 'application/json',
      });
      expect(preflighted.status).toBe(405);
      for (const response of [plain, preflighted]) {
        const body = response.body as GraphQLBody;
        expect(body.data ?? null).toBeNull();
        expect(body.errors?.length).toBeGreaterThan(0);
        expect(sessionSetCookies(response)).toEqual([]);
      }
      expect(await counterOf(cookie)).toBeNull();
    });
  });

  describe('saving the session', () => {
    it('answers with an error, never a 2xx, when the store fails to save a change', async () => {
      const { cookie, csrfToken } = await login('alice');
      const store = app.get<MemoryStore>(SessionStore);
      jest.spyOn(store, 'update').mockRejectedValue(new Error('connection reset'));

      const response = await gql(url, 'mutation { increment }', { cookie, csrfToken });
      expect(response.status).toBe(503);
      expect(response.body).toMatchObject({ statusCode: 503, error: 'Service Unavailable' });
      expect(response.text).not.toContain('increment');

      jest.restoreAllMocks();
      expect(await counterOf(cookie)).toBeNull();
    });

    it('answers with an error and sets no cookie when the store fails to save a login', async () => {
      const store = app.get<MemoryStore>(SessionStore);
      jest.spyOn(store, 'set').mockRejectedValue(new Error('connection reset'));

      const response = await gql(url, 'mutation { login(userId: "alice") { id } }');
      expect(response.status).toBe(503);
      expect(response.body).toMatchObject({ statusCode: 503, error: 'Service Unavailable' });
      expect(sessionSetCookies(response)).toEqual([]);
    });
  });

  describe('subscriptions over graphql-ws', () => {
    const USER_TICKS = 'subscription { userTicks }';

    function expectSubscriptionDenied(outcome: { data: unknown[]; errors: GraphQLError[] }) {
      expect(outcome.data).toEqual([]);
      expect(outcome.errors).toHaveLength(1);
      expect(outcome.errors[0].message).toMatch(UNAUTHENTICATED);
    }

    it('serves a @Public() subscription without a session', async () => {
      const outcome = await subscribeOnce(url, 'subscription { publicTicks }');
      expect(outcome).toEqual({ data: [{ publicTicks: 1 }, { publicTicks: 2 }], errors: [] });
    });

    it('denies a guarded subscription without a session', async () => {
      expectSubscriptionDenied(await subscribeOnce(url, USER_TICKS));
    });

    it("takes the session from the handshake's cookie, from the own origin or a trusted one", async () => {
      const { cookie } = await login('alice');
      const host = new URL(url).host;
      const expected = { data: [{ userTicks: 'alice:1' }, { userTicks: 'alice:2' }], errors: [] };
      expect(await subscribeOnce(url, USER_TICKS, { cookie })).toEqual(expected);
      expect(await subscribeOnce(url, USER_TICKS, { cookie, origin: `http://${host}` })).toEqual(
        expected,
      );
      expect(
        await subscribeOnce(url, USER_TICKS, {
          cookie,
          origin: TRUSTED_ORIGIN,
          'sec-fetch-site': 'same-site',
        }),
      ).toEqual(expected);
    });

    it('gives a cross-site handshake carrying the cookie no session', async () => {
      const { cookie } = await login('alice');
      expectSubscriptionDenied(
        await subscribeOnce(url, USER_TICKS, { cookie, origin: 'https://evil.example' }),
      );
      expectSubscriptionDenied(
        await subscribeOnce(url, USER_TICKS, { cookie, 'sec-fetch-site': 'cross-site' }),
      );
      expectSubscriptionDenied(await subscribeOnce(url, USER_TICKS, { cookie, origin: 'null' }));
    });

    it('takes a bearer token from connectionParams, from any origin', async () => {
      const token = dataOf(await gql(url, 'mutation { loginToken(userId: "api") }'))
        .loginToken as string;
      const outcome = await subscribeOnce(
        url,
        USER_TICKS,
        { origin: 'https://other-client.example' },
        { authorization: `Bearer ${token}` },
      );
      expect(outcome).toEqual({
        data: [{ userTicks: 'api:1' }, { userTicks: 'api:2' }],
        errors: [],
      });
      expectSubscriptionDenied(
        await subscribeOnce(url, USER_TICKS, {}, { authorization: 'Bearer forged.token' }),
      );
    });

    it('loads the session per subscription: after logout, the open connection gets no session', async () => {
      const { cookie, csrfToken } = await login('alice');
      const client = connect(url, { cookie });
      try {
        expect((await run(client, USER_TICKS)).data).toEqual([
          { userTicks: 'alice:1' },
          { userTicks: 'alice:2' },
        ]);
        dataOf(await gql(url, 'mutation { logout }', { cookie, csrfToken }));
        expectSubscriptionDenied(await run(client, USER_TICKS));
      } finally {
        await client.dispose();
      }
    });

    it("never hands SessionService the handshake's session (it has no request there)", async () => {
      const { cookie } = await login('alice');
      const outcome = await subscribeOnce(url, 'subscription { serviceTicks }', {
        cookie,
        origin: 'https://evil.example',
      });
      expect(outcome).toEqual({
        data: [{ serviceTicks: 'error:NoSessionContextError' }],
        errors: [],
      });
    });

    it('refuses a mutation over the socket, where no session could be saved', async () => {
      const { cookie } = await login('alice');
      const outcome = await subscribeOnce(url, 'mutation { increment }', { cookie });
      expect(outcome.data.every((data) => (data as GraphQLBody['data'])?.increment == null)).toBe(
        true,
      );
      expect(outcome.errors).toHaveLength(1);
      // Apollo runs it and the guards deny it; Mercurius refuses mutations over its socket itself.
      expect(outcome.errors[0].message).toMatch(
        driver === 'apollo' ? UNAUTHENTICATED : /^Invalid operation: mutation$/,
      );
      expect(await counterOf(cookie)).toBeNull();
    });
  });
});
