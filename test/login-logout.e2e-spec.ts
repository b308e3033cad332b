import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { createTestApp, type FakeClock } from './fixtures/test-app.js';
import {
  cookieFrom,
  expectDefaultClearingCookie,
  login,
  parseSetCookieHeader,
  spyOnStore,
  theSessionSetCookie,
  valueOf,
} from './fixtures/session-helpers.js';
import { PLATFORMS } from './support/platforms.js';

describe.each(PLATFORMS)('login and logout (%s)', (platform) => {
  let app: INestApplication;
  let clock: FakeClock;
  let store: ReturnType<typeof spyOnStore>;

  beforeAll(async () => {
    ({ app, clock } = await createTestApp({ keepOnLogin: ['cart'] }, undefined, platform));
    store = spyOnStore(app);
  });
  afterAll(async () => {
    store.restore();
    await app.close();
  });
  beforeEach(() => store.reset());

  async function anonymousSession(): Promise<string> {
    const response = await request(app.getHttpServer())
      .post('/anon/set')
      .send({ key: 'cart', value: ['book'] })
      .expect(200);
    const cookie = cookieFrom(response);
    await request(app.getHttpServer())
      .post('/anon/theme')
      .set('Cookie', cookie)
      .send({ theme: 'dark' })
      .expect(200);
    return cookie;
  }

  describe('login', () => {
    it('always issues a new token and deletes the old session, even when already logged in', async () => {
      const first = await login(app, 'alice');
      store.reset();
      const second = await login(app, 'alice', { cookie: first.cookie });

      expect(valueOf(second.cookie).split('.')[0]).not.toBe(valueOf(first.cookie).split('.')[0]);
      expect(second.id).not.toBe(first.id);
      // One store call: the new session is written only if the old one is live, which it ends.
      expect(store.spies.set).toHaveBeenCalledWith(
        expect.objectContaining({ id: second.id }),
        expect.any(Number),
        expect.objectContaining({ replaces: first.id }),
      );
      expect(store.spies.destroy).not.toHaveBeenCalled();
      expect(await store.store.get(first.id)).toBeNull();
      await request(app.getHttpServer()).get('/me').set('Cookie', first.cookie).expect(401);
      await request(app.getHttpServer()).get('/me').set('Cookie', second.cookie).expect(200);
    });

    it('defeats fixation: a token obtained before login does not work after it', async () => {
      // The attacker gets an anonymous session and plants its cookie in the victim's browser.
      const planted = await anonymousSession();
      const plantedId = (
        await request(app.getHttpServer()).get('/anon/probe').set('Cookie', planted)
      ).body as { userId: string | null };
      expect(plantedId.userId).toBeNull();

      // The victim logs in carrying the planted cookie.
      const victim = await login(app, 'victim', { cookie: planted });
      expect(victim.cookie).not.toBe(planted);

      // The attacker's copy is worth nothing: not logged in, not even the old anonymous data.
      await request(app.getHttpServer()).get('/me').set('Cookie', planted).expect(401);
      const peek = await request(app.getHttpServer()).get('/anon/peek').set('Cookie', planted);
      expect(peek.body).toEqual({ userId: null, theme: null });
      const me = await request(app.getHttpServer()).get('/me').set('Cookie', victim.cookie);
      expect(me.body).toMatchObject({ userId: 'victim' });
    });

    it('carries anonymous data over only for keepOnLogin keys', async () => {
      const anonymous = await anonymousSession();
      const { cookie } = await login(app, 'shopper', { cookie: anonymous, roles: ['user'] });

      const me = await request(app.getHttpServer()).get('/me').set('Cookie', cookie);
      expect(me.status).toBe(200);
      expect(me.body.data).toEqual({ cart: ['book'], roles: ['user'] });
    });

    it('carries nothing over when keepOnLogin is not set', async () => {
      const { app: plain } = await createTestApp();
      try {
        const anonymous = await request(plain.getHttpServer())
          .post('/anon/set')
          .send({ key: 'cart', value: ['book'] })
          .expect(200);
        const { cookie } = await login(plain, 'shopper', { cookie: cookieFrom(anonymous) });
        const me = await request(plain.getHttpServer()).get('/me').set('Cookie', cookie);
        expect(me.body.data).toEqual({ roles: ['user'] });
      } finally {
        await plain.close();
      }
    });

    it('sets authenticatedAt to the time of login, and a new createdAt', async () => {
      const anonymous = await anonymousSession();
      const anonymousInfo = await request(app.getHttpServer())
        .get('/anon/probe')
        .set('Cookie', anonymous);
      expect(anonymousInfo.body.userId).toBeNull();

      clock.advance(5_000);
      const loginTime = clock.current;
      const { cookie, id } = await login(app, 'timed', { cookie: anonymous });
      clock.advance(1_000);

      const info = await request(app.getHttpServer()).get('/session-info').set('Cookie', cookie);
      expect(info.body).toEqual({
        id,
        userId: 'timed',
        createdAt: loginTime,
        lastSeenAt: loginTime,
        authenticatedAt: loginTime,
      });
    });
  });

  describe('logout', () => {
    it('deletes the session from the store and clears the cookie with matching attributes and Max-Age=0', async () => {
      const { cookie, id } = await login(app, 'leaving');
      store.reset();

      const response = await request(app.getHttpServer()).post('/logout').set('Cookie', cookie);

      expect(response.status).toBe(200);
      expect(store.spies.destroy).toHaveBeenCalledWith(id);
      expect(await store.store.get(id)).toBeNull();
      expect(await store.store.listByUser('leaving')).toEqual([]);
      expectDefaultClearingCookie(theSessionSetCookie(response));
      expect(response.headers['cache-control']).toBe('private, no-store');
    });

    it('refuses a copy of the cookie taken before logout', async () => {
      const { cookie } = await login(app, 'copied');
      const stolenCopy = cookie;
      await request(app.getHttpServer()).post('/logout').set('Cookie', cookie).expect(200);

      const replay = await request(app.getHttpServer()).get('/me').set('Cookie', stolenCopy);
      expect(replay.status).toBe(401);
      const peek = await request(app.getHttpServer()).get('/anon/peek').set('Cookie', stolenCopy);
      expect(peek.body).toEqual({ userId: null, theme: null });
    });
  });

  it('logout clears a custom cookie with the same name, Path, Domain, Secure, HttpOnly and SameSite', async () => {
    const { app: custom } = await createTestApp({
      cookie: {
        name: '__Secure-app',
        path: '/',
        domain: 'example.test',
        sameSite: 'strict',
        httpOnly: true,
        secure: true,
      },
    });
    try {
      const loginResponse = await request(custom.getHttpServer())
        .post('/login')
        .send({ userId: 'custom' })
        .expect(200);
      const issued = parseSetCookieHeader(theSessionSetCookie(loginResponse, '__Secure-app'));
      const cookie = cookieFrom(loginResponse, '__Secure-app');

      const response = await request(custom.getHttpServer())
        .post('/logout')
        .set('Cookie', cookie)
        .expect(200);
      const cleared = parseSetCookieHeader(theSessionSetCookie(response, '__Secure-app'));

      expect(cleared.name).toBe(issued.name);
      expect(cleared.value).toBe('');
      expect(cleared.attributes).toEqual({ ...issued.attributes, 'max-age': '0' });
      expect(cleared.attributes).toMatchObject({
        path: '/',
        domain: 'example.test',
        samesite: 'Strict',
        secure: true,
        httponly: true,
      });
      await request(custom.getHttpServer()).get('/me').set('Cookie', cookie).expect(401);
    } finally {
      await custom.close();
    }
  });
});
