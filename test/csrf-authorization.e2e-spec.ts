import { afterEach, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { createSecurityApp } from './fixtures/security-app.js';
import { cookieFrom, sessionSetCookies } from './fixtures/session-helpers.js';
import { PLATFORMS } from './support/platforms.js';

/**
 * An `Authorization` header exempts a request from CSRF only when a valid bearer token
 * authenticated its session; any other header (`Basic`, `Negotiate`, a junk `Bearer`) exempts
 * nothing, and a token login never reads or ends the cookie session the request came with.
 */
describe.each(PLATFORMS)('CSRF and the Authorization header (%s)', (platform) => {
  let app: INestApplication | undefined;

  async function boot(): Promise<INestApplication> {
    ({ app } = await createSecurityApp({ transport: ['cookie', 'header'] }, undefined, platform));
    return app;
  }
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  async function cookieLogin(target: INestApplication): Promise<string> {
    const response = await request(target.getHttpServer())
      .post('/login')
      .send({ userId: 'alice' })
      .expect(200);
    return cookieFrom(response);
  }

  it.each(['Basic YWxpY2U6c2VjcmV0', 'Negotiate YIIJ', 'Digest username="a"'])(
    'a cookie session with "Authorization: %s" still needs its CSRF token',
    async (authorization) => {
      const target = await boot();
      const cookie = await cookieLogin(target);
      const response = await request(target.getHttpServer())
        .post('/write')
        .set('Cookie', cookie)
        .set('Authorization', authorization)
        .send({ key: 'theme', value: 'evil' });
      expect(response.status).toBe(403);
      expect((response.body as { message: string }).message).toMatch(/CSRF token/);
    },
  );

  it('login CSRF: a cross-site login with a non-bearer Authorization header is refused', async () => {
    const target = await boot();
    const response = await request(target.getHttpServer())
      .post('/login')
      .set('Authorization', 'Basic YWxpY2U6c2VjcmV0')
      .set('Sec-Fetch-Site', 'cross-site')
      .set('Origin', 'https://evil.example')
      .send({ userId: 'mallory' });
    expect(response.status).toBe(403);
    expect(sessionSetCookies(response)).toEqual([]);
  });

  it('a valid bearer token is exempt from the CSRF token', async () => {
    const target = await boot();
    const { token } = (
      await request(target.getHttpServer()).post('/token-login').send({ userId: 'api' }).expect(200)
    ).body as { token: string };
    await request(target.getHttpServer())
      .post('/write')
      .set('Authorization', `Bearer ${token}`)
      .send({ key: 'theme', value: 'api' })
      .expect(200);
  });

  it('a token login neither reads nor ends the cookie session the request came with', async () => {
    const target = await boot();
    const cookie = await cookieLogin(target);
    const { csrfToken } = (
      await request(target.getHttpServer()).get('/csrf').set('Cookie', cookie).expect(200)
    ).body as { csrfToken: string };
    const response = await request(target.getHttpServer())
      .post('/token-login')
      .set('Cookie', cookie)
      .set('x-csrf-token', csrfToken)
      .send({ userId: 'mallory' })
      .expect(200);
    expect((response.body as { token: string }).token).toMatch(/\./);
    // No cookie set or cleared: the browser's session is not this login's business.
    expect(sessionSetCookies(response)).toEqual([]);
    const me = await request(target.getHttpServer()).get('/me').set('Cookie', cookie);
    expect(me.status).toBe(200);
    expect((me.body as { userId: string }).userId).toBe('alice');
  });
});
