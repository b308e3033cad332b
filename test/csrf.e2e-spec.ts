import { afterEach, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { SessionOptionsError } from 'nest-secure-session';
import request from 'supertest';
import { createSecurityApp, type SecurityAppOptions } from './fixtures/security-app.js';
import { PLATFORMS, type Platform } from './support/platforms.js';
import { cookieFrom } from './fixtures/session-helpers.js';

const TRUSTED = 'https://app.example.com';

/** Logs `userId` in with a cookie; the new session's cookie and CSRF token. */
async function login(
  app: INestApplication,
  userId = 'alice',
  cookie?: string,
  csrfToken?: string,
): Promise<{ cookie: string; csrfToken: string; id: string }> {
  let call = request(app.getHttpServer()).post('/login');
  if (cookie !== undefined) {
    call = call.set('Cookie', cookie);
  }
  if (csrfToken !== undefined) {
    call = call.set('x-csrf-token', csrfToken);
  }
  const response = await call.send({ userId });
  expect(response.status).toBe(200);
  const body = response.body as { csrfToken: string; id: string };
  expect(body.csrfToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
  return { cookie: cookieFrom(response), csrfToken: body.csrfToken, id: body.id };
}

/** An unsafe write with the session cookie and whatever the test adds. */
function post(app: INestApplication, cookie: string, path = '/write') {
  return request(app.getHttpServer()).post(path).set('Cookie', cookie);
}

/** Whether the write of `post()` reached the store: the value reads back. */
async function readBack(app: INestApplication, cookie: string, key: string): Promise<unknown> {
  const response = await request(app.getHttpServer()).get(`/value/${key}`).set('Cookie', cookie);
  expect(response.status).toBe(200);
  return (response.body as { value: unknown }).value;
}

/** The error `createSecurityApp(options)` fails with on `platform`; an app that boots is closed and fails the test. */
async function bootError(options: SecurityAppOptions, platform: Platform): Promise<unknown> {
  try {
    const { app } = await createSecurityApp(options, undefined, platform);
    await app.close();
  } catch (error) {
    return error;
  }
  throw new Error(`The app booted with ${JSON.stringify(options)}`);
}

function expectCsrfRefusal(response: request.Response, message: RegExp): void {
  expect(response.status).toBe(403);
  expect(response.headers['content-type']).toMatch(/^application\/json/);
  expect(response.body).toMatchObject({ statusCode: 403, error: 'Forbidden' });
  expect((response.body as { message: string }).message).toMatch(message);
}

const TOKEN_MESSAGE =
  /Missing or invalid CSRF token: send it in the 'x-csrf-token' header or the '_csrf' field/;
const CROSS_SITE_MESSAGE = /Cross-site request refused \(Sec-Fetch-Site: (cross-site|same-site)\)/;
const ORIGIN_MESSAGE = /untrusted origin refused/;

describe.each(PLATFORMS)('CSRF protection of cookie sessions (%s)', (platform) => {
  let app: INestApplication | undefined;

  async function boot(options: SecurityAppOptions = {}): Promise<INestApplication> {
    ({ app } = await createSecurityApp(
      { csrf: { trustedOrigins: [TRUSTED] }, ...options },
      undefined,
      platform,
    ));
    return app;
  }

  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  describe('the session-bound token', () => {
    it('is on by default: an unsafe request with the session cookie and no token gets 403', async () => {
      ({ app } = await createSecurityApp({}, undefined, platform));
      const alice = await login(app);
      for (const method of ['post', 'put', 'patch'] as const) {
        const server = request(app.getHttpServer());
        const response = await server[method]('/write')
          .set('Cookie', alice.cookie)
          .send({ key: 'theme', value: method });
        expectCsrfRefusal(response, TOKEN_MESSAGE);
      }
      const deletion = await request(app.getHttpServer())
        .delete('/write/roles')
        .set('Cookie', alice.cookie);
      expectCsrfRefusal(deletion, TOKEN_MESSAGE);
      // Nothing was written or deleted.
      expect(await readBack(app, alice.cookie, 'theme')).toBeNull();
      expect(await readBack(app, alice.cookie, 'roles')).toEqual(['user']);
    });

    it("refuses another session's token, a malformed token and an empty one", async () => {
      await boot();
      const alice = await login(app!, 'alice');
      const mallory = await login(app!, 'mallory');
      for (const token of [
        mallory.csrfToken,
        `${alice.csrfToken}x`,
        alice.csrfToken.slice(1),
        '',
      ]) {
        const response = await post(app!, alice.cookie)
          .set('x-csrf-token', token)
          .send({ key: 'theme', value: 'dark' });
        expectCsrfRefusal(response, TOKEN_MESSAGE);
      }
      expect(await readBack(app!, alice.cookie, 'theme')).toBeNull();
    });

    it('refuses a token sent only in a cookie (double-submit cookies are not accepted)', async () => {
      await boot();
      const alice = await login(app!);
      const response = await post(app!, alice.cookie)
        .set(
          'Cookie',
          `${alice.cookie}; _csrf=${alice.csrfToken}; x-csrf-token=${alice.csrfToken}; csrfToken=${alice.csrfToken}`,
        )
        .send({ key: 'theme', value: 'dark' });
      expectCsrfRefusal(response, TOKEN_MESSAGE);
      expect(await readBack(app!, alice.cookie, 'theme')).toBeNull();
    });

    it('refuses a token sent in the query string', async () => {
      await boot();
      const alice = await login(app!);
      const response = await post(app!, alice.cookie, `/write?_csrf=${alice.csrfToken}`)
        .query({ 'x-csrf-token': alice.csrfToken })
        .send({ key: 'theme', value: 'dark' });
      expectCsrfRefusal(response, TOKEN_MESSAGE);
    });

    it('accepts the correct token in the x-csrf-token header, on every unsafe method', async () => {
      await boot();
      const alice = await login(app!);
      const posted = await post(app!, alice.cookie)
        .set('x-csrf-token', alice.csrfToken)
        .send({ key: 'theme', value: 'dark' });
      expect(posted.status).toBe(200);
      expect(await readBack(app!, alice.cookie, 'theme')).toBe('dark');
      for (const method of ['put', 'patch'] as const) {
        const server = request(app!.getHttpServer());
        const response = await server[method]('/write')
          .set('Cookie', alice.cookie)
          .set('x-csrf-token', alice.csrfToken)
          .send({ key: 'theme', value: method });
        expect(response.status).toBe(200);
        expect(await readBack(app!, alice.cookie, 'theme')).toBe(method);
      }
      const deletion = await request(app!.getHttpServer())
        .delete('/write/theme')
        .set('Cookie', alice.cookie)
        .set('x-csrf-token', alice.csrfToken);
      expect(deletion.status).toBe(200);
      expect(await readBack(app!, alice.cookie, 'theme')).toBeNull();
    });

    it('accepts the correct token in the _csrf field of a urlencoded form post', async () => {
      await boot();
      const alice = await login(app!);
      const response = await post(app!, alice.cookie)
        .type('form')
        .send(`key=theme&value=form-dark&_csrf=${encodeURIComponent(alice.csrfToken)}`);
      expect(response.status).toBe(200);
      expect(await readBack(app!, alice.cookie, 'theme')).toBe('form-dark');
      // The same form without the field, or with another session's token, is refused.
      const mallory = await login(app!, 'mallory');
      for (const body of [
        'key=theme&value=evil',
        `key=theme&value=evil&_csrf=${encodeURIComponent(mallory.csrfToken)}`,
      ]) {
        const refused = await post(app!, alice.cookie).type('form').send(body);
        expectCsrfRefusal(refused, TOKEN_MESSAGE);
      }
      expect(await readBack(app!, alice.cookie, 'theme')).toBe('form-dark');
    });

    it('exposes the token on GET /csrf (SessionService.csrfToken) equal to the one of login', async () => {
      await boot();
      const alice = await login(app!);
      const response = await request(app!.getHttpServer()).get('/csrf').set('Cookie', alice.cookie);
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ csrfToken: alice.csrfToken });
    });

    it('is renewed at login: the token of the session before login fails after it', async () => {
      await boot();
      // An anonymous session with data (a stored session) and its token.
      const anon = await request(app!.getHttpServer())
        .post('/anon/write')
        .send({ key: 'theme', value: 'light' });
      expect(anon.status).toBe(200);
      const anonCookie = cookieFrom(anon);
      const anonToken = (
        (await request(app!.getHttpServer()).get('/csrf').set('Cookie', anonCookie)).body as {
          csrfToken: string;
        }
      ).csrfToken;
      // Writing to the anonymous session needs its token.
      expectCsrfRefusal(
        await post(app!, anonCookie, '/anon/write').send({ key: 'theme', value: 'x' }),
        TOKEN_MESSAGE,
      );
      // Logging in from that session needs it too, and renews it.
      expectCsrfRefusal(
        await request(app!.getHttpServer())
          .post('/login')
          .set('Cookie', anonCookie)
          .send({ userId: 'alice' }),
        TOKEN_MESSAGE,
      );
      const alice = await login(app!, 'alice', anonCookie, anonToken);
      expect(alice.csrfToken).not.toBe(anonToken);
      expectCsrfRefusal(
        await post(app!, alice.cookie).set('x-csrf-token', anonToken).send({ key: 'k', value: 1 }),
        TOKEN_MESSAGE,
      );
      // A second login (same browser) renews it again.
      const again = await login(app!, 'alice', alice.cookie, alice.csrfToken);
      expect(again.csrfToken).not.toBe(alice.csrfToken);
      expectCsrfRefusal(
        await post(app!, again.cookie)
          .set('x-csrf-token', alice.csrfToken)
          .send({ key: 'k', value: 1 }),
        TOKEN_MESSAGE,
      );
      const accepted = await post(app!, again.cookie)
        .set('x-csrf-token', again.csrfToken)
        .send({ key: 'k', value: 1 });
      expect(accepted.status).toBe(200);
    });

    it('never blocks safe methods (GET, HEAD, OPTIONS), whatever the headers', async () => {
      await boot();
      const alice = await login(app!);
      for (const headers of [
        {},
        { 'Sec-Fetch-Site': 'cross-site' },
        { Origin: 'https://evil.example.net' },
        { Origin: 'null', 'Sec-Fetch-Site': 'same-site' },
      ]) {
        const got = await request(app!.getHttpServer())
          .get('/me')
          .set('Cookie', alice.cookie)
          .set(headers);
        expect(got.status).toBe(200);
        expect(got.body).toMatchObject({ userId: 'alice' });
        const head = await request(app!.getHttpServer())
          .head('/me')
          .set('Cookie', alice.cookie)
          .set(headers);
        expect(head.status).toBe(200);
      }
    });

    it('lets a @SkipCsrf() route through without a token, even cross-site', async () => {
      await boot();
      const alice = await login(app!);
      const response = await post(app!, alice.cookie, '/callback')
        .set('Sec-Fetch-Site', 'cross-site')
        .set('Origin', 'https://payments.example.net')
        .send({ key: 'paid', value: true });
      expect(response.status).toBe(200);
      expect(await readBack(app!, alice.cookie, 'paid')).toBe(true);
    });

    it('does not ask a visitor without a session for a token (login form), but checks origins', async () => {
      await boot();
      const loggedIn = await request(app!.getHttpServer()).post('/login').send({ userId: 'alice' });
      expect(loggedIn.status).toBe(200);
      // Login CSRF: a cross-site or foreign-origin login post is refused.
      for (const headers of [
        { 'Sec-Fetch-Site': 'cross-site' },
        { Origin: 'https://evil.example.net' },
        { Origin: 'null' },
      ]) {
        const refused = await request(app!.getHttpServer())
          .post('/login')
          .set(headers)
          .send({ userId: 'mallory' });
        expect(refused.status).toBe(403);
        expect(refused.headers['set-cookie']).toBeUndefined();
      }
    });

    it('can be turned off with csrf: false', async () => {
      ({ app } = await createSecurityApp({ csrf: false }, undefined, platform));
      const alice = await login(app);
      const response = await post(app, alice.cookie)
        .set('Sec-Fetch-Site', 'cross-site')
        .send({ key: 'theme', value: 'dark' });
      expect(response.status).toBe(200);
    });
  });

  describe('Fetch Metadata and Origin checks', () => {
    it('refuses Sec-Fetch-Site: cross-site even with a valid token', async () => {
      await boot();
      const alice = await login(app!);
      for (const origin of [undefined, TRUSTED]) {
        let call = post(app!, alice.cookie)
          .set('x-csrf-token', alice.csrfToken)
          .set('Sec-Fetch-Site', 'cross-site');
        if (origin !== undefined) {
          call = call.set('Origin', origin);
        }
        expectCsrfRefusal(await call.send({ key: 'theme', value: 'dark' }), CROSS_SITE_MESSAGE);
      }
      expect(await readBack(app!, alice.cookie, 'theme')).toBeNull();
    });

    it('refuses Sec-Fetch-Site: same-site unless the Origin is trusted', async () => {
      await boot();
      const alice = await login(app!);
      for (const origin of [
        undefined,
        'https://other.example.com',
        'null',
        `${TRUSTED}.evil.com`,
      ]) {
        let call = post(app!, alice.cookie)
          .set('x-csrf-token', alice.csrfToken)
          .set('Sec-Fetch-Site', 'same-site');
        if (origin !== undefined) {
          call = call.set('Origin', origin);
        }
        expectCsrfRefusal(await call.send({ key: 'theme', value: 'dark' }), CROSS_SITE_MESSAGE);
      }
      expect(await readBack(app!, alice.cookie, 'theme')).toBeNull();
      const trusted = await post(app!, alice.cookie)
        .set('x-csrf-token', alice.csrfToken)
        .set('Sec-Fetch-Site', 'same-site')
        .set('Origin', TRUSTED)
        .send({ key: 'theme', value: 'trusted' });
      expect(trusted.status).toBe(200);
      expect(await readBack(app!, alice.cookie, 'theme')).toBe('trusted');
    });

    it('accepts Sec-Fetch-Site: same-origin and none with the token', async () => {
      await boot();
      const alice = await login(app!);
      for (const site of ['same-origin', 'none']) {
        const response = await post(app!, alice.cookie)
          .set('x-csrf-token', alice.csrfToken)
          .set('Sec-Fetch-Site', site)
          .send({ key: 'theme', value: site });
        expect(response.status).toBe(200);
        expect(await readBack(app!, alice.cookie, 'theme')).toBe(site);
      }
    });

    it('refuses Origin: null (sandboxed frames, data: URLs), even with a valid token', async () => {
      await boot();
      const alice = await login(app!);
      const response = await post(app!, alice.cookie)
        .set('x-csrf-token', alice.csrfToken)
        .set('Origin', 'null')
        .send({ key: 'theme', value: 'dark' });
      expectCsrfRefusal(response, ORIGIN_MESSAGE);
      expect(await readBack(app!, alice.cookie, 'theme')).toBeNull();
    });

    it('refuses a foreign Origin, even with a valid token', async () => {
      await boot();
      const alice = await login(app!);
      for (const origin of [
        'https://evil.example.net',
        'http://app.example.com.evil.com',
        'https://example.com',
        'not a url',
        'https://',
      ]) {
        const response = await post(app!, alice.cookie)
          .set('x-csrf-token', alice.csrfToken)
          .set('Origin', origin)
          .send({ key: 'theme', value: 'dark' });
        expectCsrfRefusal(response, ORIGIN_MESSAGE);
      }
      expect(await readBack(app!, alice.cookie, 'theme')).toBeNull();
    });

    it('matches trusted origins exactly: no suffix, prefix, scheme, port or case tricks', async () => {
      await boot();
      const alice = await login(app!);
      for (const origin of [
        'https://app.example.com.evil.com',
        'https://evil-app.example.com',
        'https://evilapp.example.com',
        'https://sub.app.example.com',
        'http://app.example.com',
        'https://app.example.com:8443',
        'https://app.example.co',
        'https://app.example.com/',
        'https://app.example.com/path',
        'https://APP.EXAMPLE.COM',
        `${TRUSTED}@evil.com`,
      ]) {
        for (const site of [undefined, 'same-site']) {
          let call = post(app!, alice.cookie).set('x-csrf-token', alice.csrfToken);
          call = call.set('Origin', origin);
          if (site !== undefined) {
            call = call.set('Sec-Fetch-Site', site);
          }
          const response = await call.send({ key: 'theme', value: 'dark' });
          expect({ origin, site, status: response.status }).toEqual({
            origin,
            site,
            status: 403,
          });
        }
      }
      expect(await readBack(app!, alice.cookie, 'theme')).toBeNull();
    });

    it('accepts the exact trusted origin, and the app’s own origin', async () => {
      await boot();
      const alice = await login(app!);
      const trusted = await post(app!, alice.cookie)
        .set('x-csrf-token', alice.csrfToken)
        .set('Origin', TRUSTED)
        .send({ key: 'theme', value: 'from-trusted' });
      expect(trusted.status).toBe(200);
      expect(await readBack(app!, alice.cookie, 'theme')).toBe('from-trusted');
      const own = await post(app!, alice.cookie)
        .set('Host', 'own.example.org')
        .set('Origin', 'https://own.example.org')
        .set('Sec-Fetch-Site', 'same-origin')
        .set('x-csrf-token', alice.csrfToken)
        .send({ key: 'theme', value: 'from-own' });
      expect(own.status).toBe(200);
      expect(await readBack(app!, alice.cookie, 'theme')).toBe('from-own');
    });

    it('still requires the token from a trusted or own origin', async () => {
      await boot();
      const alice = await login(app!);
      const response = await post(app!, alice.cookie)
        .set('Origin', TRUSTED)
        .set('Sec-Fetch-Site', 'same-site')
        .send({ key: 'theme', value: 'dark' });
      expectCsrfRefusal(response, TOKEN_MESSAGE);
    });
  });

  describe('header transport', () => {
    it('requests authenticated by Authorization: Bearer are exempt, even cross-site', async () => {
      await boot({ transport: ['cookie', 'header'] });
      const login = await request(app!.getHttpServer())
        .post('/token-login')
        .send({ userId: 'api-client' });
      expect(login.status).toBe(200);
      const { token } = login.body as { token: string };
      const response = await request(app!.getHttpServer())
        .post('/write')
        .set('Authorization', `Bearer ${token}`)
        .set('Sec-Fetch-Site', 'cross-site')
        .set('Origin', 'https://evil.example.net')
        .send({ key: 'theme', value: 'api' });
      expect(response.status).toBe(200);
      const read = await request(app!.getHttpServer())
        .get('/value/theme')
        .set('Authorization', `Bearer ${token}`);
      expect(read.body).toEqual({ value: 'api' });
    });

    it('an Authorization header does not lend its exemption to a cookie session', async () => {
      // With the header transport on, a request with a Bearer header is judged by it alone: the
      // cookie is not read; and an invalid token exempts nothing, so the cross-site check refuses it.
      await boot({ transport: ['cookie', 'header'] });
      const alice = await login(app!);
      const response = await post(app!, alice.cookie)
        .set('Authorization', 'Bearer junk')
        .set('Sec-Fetch-Site', 'cross-site')
        .send({ key: 'theme', value: 'evil' });
      expectCsrfRefusal(response, CROSS_SITE_MESSAGE);
      expect(await readBack(app!, alice.cookie, 'theme')).toBeNull();
    });

    it('with the cookie transport only, an Authorization header exempts nothing', async () => {
      await boot({ transport: ['cookie'] });
      const alice = await login(app!);
      const response = await post(app!, alice.cookie)
        .set('Authorization', `Bearer ${alice.cookie.slice(alice.cookie.indexOf('=') + 1)}`)
        .set('Sec-Fetch-Site', 'cross-site')
        .send({ key: 'theme', value: 'evil' });
      expectCsrfRefusal(response, CROSS_SITE_MESSAGE);
      const noToken = await post(app!, alice.cookie)
        .set('Authorization', 'Bearer junk')
        .send({ key: 'theme', value: 'evil' });
      expectCsrfRefusal(noToken, TOKEN_MESSAGE);
      expect(await readBack(app!, alice.cookie, 'theme')).toBeNull();
    });
  });

  describe('options', () => {
    it.each([
      ['a trailing slash', 'https://app.example.com/'],
      ['a path', 'https://app.example.com/app'],
      ['a query', 'https://app.example.com?x=1'],
      ['no scheme', 'app.example.com'],
      ['a wildcard', 'https://*.example.com'],
      ['another scheme', 'ftp://app.example.com'],
      ['null', 'null'],
    ])('refuses to boot with a trustedOrigins entry with %s', async (_label, origin) => {
      const error = await bootError({ csrf: { trustedOrigins: [TRUSTED, origin] } }, platform);
      expect(error).toBeInstanceOf(SessionOptionsError);
      expect((error as Error).message).toMatch(/csrf\.trustedOrigins\[1\] must be an exact origin/);
    });
  });
});
