import { afterEach, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MemoryStore } from 'nest-secure-session';
import request from 'supertest';
import {
  createSecurityApp,
  FakeClock,
  OTHER_SECRET,
  TEST_SECRET,
  type SecurityAppOptions,
} from './fixtures/security-app.js';
import { PLATFORMS } from './support/platforms.js';
import { cookieFrom, setCookiesOf, valueOf } from './fixtures/session-helpers.js';

const SIGNED_TOKEN = /^[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}$/;
const MINUTE = 60_000;

/** Logs in with the header transport; the bearer token, and the login response. */
async function tokenLogin(
  app: INestApplication,
  userId = 'api-client',
): Promise<{ token: string; id: string; response: request.Response }> {
  const response = await request(app.getHttpServer()).post('/token-login').send({ userId });
  expect(response.status).toBe(200);
  const { token, id } = response.body as { token: string; id: string };
  expect(token).toMatch(SIGNED_TOKEN);
  return { token, id, response };
}

function getMe(app: INestApplication, authorization?: string, path = '/me') {
  const call = request(app.getHttpServer()).get(path);
  return authorization === undefined ? call : call.set('Authorization', authorization);
}

/** `GET /me` with several `Authorization` header lines (supertest sends one). */
function statusWithHeaders(port: number, authorization: string[]): Promise<number> {
  return new Promise((done, fail) => {
    const call = httpRequest(
      { host: '127.0.0.1', port, path: '/me', method: 'GET' },
      (response) => {
        response.resume();
        response.on('end', () => done(response.statusCode ?? 0));
      },
    );
    call.setHeader('Authorization', authorization);
    call.on('error', fail);
    call.end();
  });
}

function expectUnauthorized(response: request.Response): void {
  expect(response.status).toBe(401);
  expect(response.headers['content-type']).toMatch(/^application\/json/);
  expect(response.body).toMatchObject({ statusCode: 401, error: 'Unauthorized' });
}

describe.each(PLATFORMS)('header transport (Authorization: Bearer) (%s)', (platform) => {
  let app: INestApplication | undefined;
  const others: INestApplication[] = [];

  async function boot(
    options: SecurityAppOptions = {},
    clock = new FakeClock(),
  ): Promise<{ app: INestApplication; clock: FakeClock }> {
    const booted = await createSecurityApp(
      { transport: ['cookie', 'header'], ...options },
      clock,
      platform,
    );
    app = booted.app;
    return booted;
  }

  afterEach(async () => {
    await app?.close();
    app = undefined;
    await Promise.all(others.splice(0).map((other) => other.close()));
  });

  it('login with { transport: "header" } sets no cookie and returns a bearer token', async () => {
    await boot();
    const { response, token, id } = await tokenLogin(app!);
    expect(setCookiesOf(response)).toEqual([]);
    expect(response.headers['set-cookie']).toBeUndefined();
    // The public id names the session; it is not the token and does not open it.
    expect(token.split('.')).not.toContain(id);
    expectUnauthorized(await getMe(app!, `Bearer ${id}`));
    // Cookie logins never hand the token to scripts.
    const cookieLogin = await request(app!.getHttpServer())
      .post('/login')
      .send({ userId: 'alice' });
    expect(cookieLogin.status).toBe(200);
    expect((cookieLogin.body as { bearerToken: unknown }).bearerToken).toBeNull();
  });

  it('the bearer token opens the session on protected routes, for reads and writes', async () => {
    await boot();
    const { token, id } = await tokenLogin(app!);
    const me = await getMe(app!, `Bearer ${token}`);
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ userId: 'api-client', id });
    expect(me.headers['set-cookie']).toBeUndefined();
    // The scheme is case-insensitive (RFC 9110).
    expect((await getMe(app!, `bearer ${token}`)).status).toBe(200);
    expect((await getMe(app!, `BEARER ${token}`)).status).toBe(200);
    const write = await request(app!.getHttpServer())
      .post('/write')
      .set('Authorization', `Bearer ${token}`)
      .send({ key: 'theme', value: 'api' });
    expect(write.status).toBe(200);
    expect(write.headers['set-cookie']).toBeUndefined();
    const read = await getMe(app!, `Bearer ${token}`, '/value/theme');
    expect(read.body).toEqual({ value: 'api' });
    // Without the header there is no session.
    expectUnauthorized(await getMe(app!));
  });

  it('never accepts the token from the query string or a body field', async () => {
    await boot();
    const { token } = await tokenLogin(app!);
    const [raw] = token.split('.');
    for (const query of [
      { token },
      { access_token: token },
      { accessToken: token },
      { bearer: token },
      { authorization: `Bearer ${token}` },
      { session: token },
      { sid: token },
      { '__Host-sid': token },
      { token: raw },
    ]) {
      expectUnauthorized(await request(app!.getHttpServer()).get('/me').query(query));
    }
    expectUnauthorized(await request(app!.getHttpServer()).get(`/me?token=${token}`));
    expectUnauthorized(await request(app!.getHttpServer()).get(`/me?access_token=${token}`));
    for (const body of [
      { token },
      { access_token: token },
      { authorization: `Bearer ${token}` },
      { bearerToken: token },
      { sid: token },
    ]) {
      const json = await request(app!.getHttpServer())
        .post('/write')
        .send({ key: 'theme', value: 'x', ...body });
      expectUnauthorized(json);
      const form = await request(app!.getHttpServer())
        .post('/write')
        .type('form')
        .send({ key: 'theme', value: 'x', ...body });
      expectUnauthorized(form);
    }
    // The session saw none of those writes.
    expect((await getMe(app!, `Bearer ${token}`, '/value/theme')).body).toEqual({ value: null });
  });

  it('answers malformed Authorization headers with 401, never 5xx', async () => {
    await boot();
    const { token } = await tokenLogin(app!);
    const [raw, signature] = token.split('.');
    const flipped = `${token.slice(0, 10)}${token[10] === 'A' ? 'B' : 'A'}${token.slice(11)}`;
    const malformed = [
      '',
      ' ',
      'Bearer',
      'Bearer ',
      'Bearer  ' + token,
      `Bearer ${token} extra`,
      `Bearer ${token},Bearer ${token}`,
      `Bearer ${token}.`,
      `Bearer ${token}A`,
      `Bearer ${token.slice(0, -1)}`,
      `Bearer ${raw}`,
      `Bearer ${raw}.`,
      `Bearer .${signature}`,
      `Bearer ${signature}.${raw}`,
      `Bearer ${flipped}`,
      `Bearer ${'A'.repeat(43)}.${'A'.repeat(43)}`,
      `Bearer ${'a'.repeat(5_000)}`,
      `Bearer ${token.replace('.', '..')}`,
      `Bearer ${Buffer.from(token).toString('base64')}`,
      `Bearer%20${token}`,
      `Bearertoken${token}`,
      `Basic ${Buffer.from(`user:${token}`).toString('base64')}`,
      `Digest username="x", response="${token}"`,
      `Token ${token}`,
      token,
      `Bearer "${token}"`,
      `Bearer <script>alert(1)</script>`,
      'Bearer ../../etc/passwd',
      'Bearer {"$gt":""}',
      'Bearer __proto__',
    ];
    for (const authorization of malformed) {
      const response = await getMe(app!, authorization);
      expect({ authorization, status: response.status }).toEqual({ authorization, status: 401 });
      expect(response.body).toMatchObject({ statusCode: 401 });
    }
    // Several Authorization headers at once: Node keeps the first, the rest count for nothing.
    await app!.listen(0, '127.0.0.1');
    const { port } = app!.getHttpServer().address() as AddressInfo;
    expect(await statusWithHeaders(port, [`Bearer ${token}`, 'Bearer junk'])).toBe(200);
    expect(await statusWithHeaders(port, ['Bearer junk', `Bearer ${token}`])).toBe(401);
    // The real token still works after all that.
    expect((await getMe(app!, `Bearer ${token}`)).status).toBe(200);
  });

  it('logout ends the session: the token is refused afterwards', async () => {
    await boot();
    const { token } = await tokenLogin(app!);
    const logout = await request(app!.getHttpServer())
      .post('/logout')
      .set('Authorization', `Bearer ${token}`);
    expect(logout.status).toBe(200);
    expect(logout.headers['set-cookie']).toBeUndefined();
    expectUnauthorized(await getMe(app!, `Bearer ${token}`));
    const write = await request(app!.getHttpServer())
      .post('/write')
      .set('Authorization', `Bearer ${token}`)
      .send({ key: 'theme', value: 'after-logout' });
    expectUnauthorized(write);
  });

  it('revokeAllForUser ends every token of the user', async () => {
    await boot();
    const first = await tokenLogin(app!, 'bob');
    const second = await tokenLogin(app!, 'bob');
    const carol = await tokenLogin(app!, 'carol');
    const revoked = await request(app!.getHttpServer())
      .post('/revoke-all')
      .set('Authorization', `Bearer ${first.token}`);
    expect(revoked.status).toBe(200);
    expect(revoked.body).toEqual({ revoked: 2 });
    expectUnauthorized(await getMe(app!, `Bearer ${first.token}`));
    expectUnauthorized(await getMe(app!, `Bearer ${second.token}`));
    expect((await getMe(app!, `Bearer ${carol.token}`)).status).toBe(200);
  });

  it('enforces the idle timeout on bearer sessions', async () => {
    const { clock } = await boot({ idleTimeout: '10m', absoluteTimeout: '1h', touchAfter: '1m' });
    const { token } = await tokenLogin(app!);
    clock.advance(9 * MINUTE);
    expect((await getMe(app!, `Bearer ${token}`)).status).toBe(200);
    clock.advance(9 * MINUTE);
    expect((await getMe(app!, `Bearer ${token}`)).status).toBe(200);
    clock.advance(10 * MINUTE + 1);
    expectUnauthorized(await getMe(app!, `Bearer ${token}`));
    // Once expired it stays expired.
    clock.current -= 5 * MINUTE;
    expectUnauthorized(await getMe(app!, `Bearer ${token}`));
  });

  it('enforces the absolute timeout on bearer sessions, however active', async () => {
    const { clock } = await boot({ idleTimeout: '10m', absoluteTimeout: '1h', touchAfter: '1m' });
    const { token } = await tokenLogin(app!);
    for (let elapsed = 9; elapsed < 60; elapsed += 9) {
      clock.advance(9 * MINUTE);
      expect((await getMe(app!, `Bearer ${token}`)).status).toBe(200);
    }
    // 54 minutes in; the next step passes the hour.
    clock.advance(6 * MINUTE + 1);
    expectUnauthorized(await getMe(app!, `Bearer ${token}`));
  });

  it('rotation: a token signed under the old secret works while listed, is re-issued, and fails once removed', async () => {
    const clock = new FakeClock();
    const store = new MemoryStore({ now: clock.now });
    const issuing = await createSecurityApp(
      { transport: ['cookie', 'header'], secret: [OTHER_SECRET], store },
      clock,
      platform,
    );
    others.push(issuing.app);
    const { token } = await tokenLogin(issuing.app);
    const rotated = await createSecurityApp(
      { transport: ['cookie', 'header'], secret: [TEST_SECRET, OTHER_SECRET], store },
      clock,
      platform,
    );
    others.push(rotated.app);
    const during = await getMe(rotated.app, `Bearer ${token}`);
    expect(during.status).toBe(200);
    expect(during.headers['set-cookie']).toBeUndefined();
    // The client is handed its token re-signed under the new secret; it opens the same session.
    const reissued = during.headers['x-session-token'] as string;
    expect(reissued).toMatch(/^[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}$/);
    expect(reissued).not.toBe(token);
    expect(reissued.split('.')[0]).toBe(token.split('.')[0]);
    const withReissued = await getMe(rotated.app, `Bearer ${reissued}`);
    expect(withReissued.status).toBe(200);
    expect(withReissued.headers['x-session-token']).toBeUndefined();
    const removed = await createSecurityApp(
      { transport: ['cookie', 'header'], secret: [TEST_SECRET], store },
      clock,
      platform,
    );
    others.push(removed.app);
    expectUnauthorized(await getMe(removed.app, `Bearer ${token}`));
    expect((await getMe(removed.app, `Bearer ${reissued}`)).status).toBe(200);
    store.close();
  });

  it("with transport ['cookie'] only, a Bearer header is ignored (401), even with a valid token", async () => {
    await boot({ transport: ['cookie'] });
    // A cookie session's value is a signed token of the same form as a bearer token.
    const login = await request(app!.getHttpServer()).post('/login').send({ userId: 'alice' });
    const cookie = cookieFrom(login);
    expect((await request(app!.getHttpServer()).get('/me').set('Cookie', cookie)).status).toBe(200);
    expectUnauthorized(await getMe(app!, `Bearer ${valueOf(cookie)}`));
  });

  it('a CSRF token sent as a Bearer token (or as the cookie) is refused', async () => {
    await boot();
    const login = await request(app!.getHttpServer()).post('/login').send({ userId: 'alice' });
    const { csrfToken } = login.body as { csrfToken: string };
    const { token } = await tokenLogin(app!);
    const [raw] = token.split('.');
    for (const candidate of [csrfToken, `${csrfToken}.${csrfToken}`, `${raw}.${csrfToken}`]) {
      expectUnauthorized(await getMe(app!, `Bearer ${candidate}`));
      expectUnauthorized(
        await request(app!.getHttpServer()).get('/me').set('Cookie', `__Host-sid=${candidate}`),
      );
    }
  });

  it('a sealed stateless-mode cookie sent as a Bearer token (or as the cookie) is refused', async () => {
    await boot();
    // Same secret, stateless mode: its sealed cookie must not pass as a token of the store app.
    const stateless = await createSecurityApp({ store: 'cookie' }, undefined, platform);
    others.push(stateless.app);
    const statelessLogin = await request(stateless.app.getHttpServer())
      .post('/login')
      .send({ userId: 'alice' });
    expect(statelessLogin.status).toBe(200);
    const sealed = valueOf(cookieFrom(statelessLogin));
    expect(sealed.split('.')).toHaveLength(4);
    expectUnauthorized(await getMe(app!, `Bearer ${sealed}`));
    expectUnauthorized(
      await request(app!.getHttpServer()).get('/me').set('Cookie', `__Host-sid=${sealed}`),
    );
  });
});
