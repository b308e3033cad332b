import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { MemoryStore } from 'nest-secure-session';
import request from 'supertest';
import { createTestApp, FakeClock, OTHER_SECRET, TEST_SECRET } from './fixtures/test-app.js';
import {
  cookieFrom,
  expectDefaultClearingCookie,
  login,
  NO_STORE_IO,
  parseSetCookieHeader,
  sessionSetCookies,
  setCookiesOf,
  spyOnStore,
  theSessionSetCookie,
  valueOf,
} from './fixtures/session-helpers.js';
import { PLATFORMS } from './support/platforms.js';

const MINUTE = 60_000;
const SIGNED_VALUE = /^[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}$/;

describe.each(PLATFORMS)('session lifecycle (%s)', (platform) => {
  describe('lazy loading and write-only-when-changed (default options)', () => {
    let app: INestApplication;
    let store: ReturnType<typeof spyOnStore>;

    beforeAll(async () => {
      ({ app } = await createTestApp({}, undefined, platform));
      store = spyOnStore(app);
    });
    afterAll(async () => {
      store.restore();
      await app.close();
    });
    beforeEach(() => store.reset());

    it('a route that never touches the session does no store I/O and sets no cookie, even with a live session cookie', async () => {
      const { cookie } = await login(app);
      store.reset();

      const response = await request(app.getHttpServer()).get('/public').set('Cookie', cookie);

      expect(response.status).toBe(200);
      expect(store.calls()).toEqual(NO_STORE_IO);
      expect(setCookiesOf(response)).toEqual([]);
    });

    it('a route that never touches the session does no store I/O for an anonymous visitor', async () => {
      const response = await request(app.getHttpServer()).get('/public');

      expect(response.status).toBe(200);
      expect(store.calls()).toEqual(NO_STORE_IO);
      expect(setCookiesOf(response)).toEqual([]);
    });

    it('an anonymous visitor who only reads the session stores nothing and gets no cookie', async () => {
      const peek = await request(app.getHttpServer()).get('/anon/peek');
      const current = await request(app.getHttpServer()).get('/anon/current');

      expect(peek.status).toBe(200);
      expect(peek.body).toEqual({ userId: null, theme: null });
      expect(current.body).toEqual({ userId: null, authenticated: false });
      expect(store.calls()).toEqual(NO_STORE_IO);
      expect(setCookiesOf(peek)).toEqual([]);
      expect(setCookiesOf(current)).toEqual([]);
    });

    it('stores an anonymous session only once something is written, in one store call', async () => {
      const write = await request(app.getHttpServer()).post('/anon/theme').send({ theme: 'dark' });

      expect(write.status).toBe(200);
      expect(store.calls()).toEqual({ ...NO_STORE_IO, set: 1 });
      const cookie = cookieFrom(write);
      expect(write.headers['cache-control']).toBe('private, no-store');

      store.reset();
      const read = await request(app.getHttpServer()).get('/anon/peek').set('Cookie', cookie);
      expect(read.body).toEqual({ userId: null, theme: 'dark' });
      expect(store.calls()).toEqual({ ...NO_STORE_IO, get: 1 });
      expect(setCookiesOf(read)).toEqual([]);
    });

    it('a request that changes nothing writes nothing and sets no cookie', async () => {
      const { cookie } = await login(app);
      store.reset();

      const response = await request(app.getHttpServer()).get('/me').set('Cookie', cookie);

      expect(response.status).toBe(200);
      expect(store.calls()).toEqual({ ...NO_STORE_IO, get: 1 });
      expect(setCookiesOf(response)).toEqual([]);
    });

    it('a write costs one read and one store write, and is stored before the response is sent', async () => {
      const { cookie, id } = await login(app);
      store.reset();

      const response = await request(app.getHttpServer()).post('/counter').set('Cookie', cookie);

      expect(response.body).toEqual({ counter: 1 });
      expect(store.calls()).toEqual({ ...NO_STORE_IO, get: 1, update: 1 });
      // The 2xx has arrived: the write must already be in the store.
      const stored = await store.store.get(id);
      expect(stored?.data.counter).toBe('1');
      expect(setCookiesOf(response)).toEqual([]);
    });

    it('the session created at login is in the store when the login response arrives', async () => {
      const { id } = await login(app, 'stored-before-response');
      const stored = await store.store.get(id);
      expect(stored?.userId).toBe('stored-before-response');
    });
  });

  describe('concurrent requests of one session', () => {
    it('do not lose each other’s changes to different keys', async () => {
      const { app } = await createTestApp({}, undefined, platform);
      const store = spyOnStore(app);
      try {
        const { cookie } = await login(app);
        // Hold every read until both requests have read: each works from the same version.
        const read = MemoryStore.prototype.get.bind(store.store);
        const waiting: Array<() => void> = [];
        store.spies.get.mockImplementation(async (id: unknown) => {
          const record = await read(id as string);
          await new Promise<void>((resolve) => {
            waiting.push(resolve);
            if (waiting.length === 2) {
              waiting.forEach((release) => release());
            }
          });
          return record;
        });

        const [theme, cart] = await Promise.all([
          request(app.getHttpServer())
            .post('/anon/set')
            .set('Cookie', cookie)
            .send({ key: 'theme', value: 'dark' }),
          request(app.getHttpServer())
            .post('/anon/set')
            .set('Cookie', cookie)
            .send({ key: 'cart', value: ['book'] }),
        ]);
        expect([theme.status, cart.status]).toEqual([200, 200]);
        store.spies.get.mockRestore();

        const me = await request(app.getHttpServer()).get('/me').set('Cookie', cookie);
        expect(me.body.data).toEqual({ roles: ['user'], theme: 'dark', cart: ['book'] });
      } finally {
        store.restore();
        await app.close();
      }
    });
  });

  describe('touch throttling, idle and absolute timeouts', () => {
    it('touches the idle expiry at most every touchAfter', async () => {
      const { app, clock } = await createTestApp(
        { touchAfter: '1m', idleTimeout: '30m' },
        undefined,
        platform,
      );
      const store = spyOnStore(app);
      try {
        const { cookie, id } = await login(app);
        const loginTime = clock.current;
        store.reset();

        clock.advance(MINUTE - 1);
        await request(app.getHttpServer()).get('/me').set('Cookie', cookie).expect(200);
        expect(store.calls()).toEqual({ ...NO_STORE_IO, get: 1 });

        clock.advance(1);
        await request(app.getHttpServer()).get('/me').set('Cookie', cookie).expect(200);
        expect(store.calls()).toEqual({ ...NO_STORE_IO, get: 2, touch: 1 });
        const touched = await store.store.get(id);
        expect(touched?.lastSeenAt).toBe(loginTime + MINUTE);
        expect(touched?.expiresAt).toBe(loginTime + MINUTE + 30 * MINUTE);

        store.reset();
        clock.advance(30_000);
        await request(app.getHttpServer()).get('/me').set('Cookie', cookie).expect(200);
        await request(app.getHttpServer()).get('/me').set('Cookie', cookie).expect(200);
        expect(store.calls()).toEqual({ ...NO_STORE_IO, get: 2 });

        clock.advance(30_000);
        const response = await request(app.getHttpServer()).get('/me').set('Cookie', cookie);
        expect(response.status).toBe(200);
        expect(store.calls()).toEqual({ ...NO_STORE_IO, get: 3, touch: 1 });
        // A touch changes no cookie.
        expect(setCookiesOf(response)).toEqual([]);
      } finally {
        store.restore();
        await app.close();
      }
    });

    it('slides the idle timeout with activity and ends the session after idleTimeout without it', async () => {
      const { app, clock } = await createTestApp(
        { idleTimeout: '10m', touchAfter: '1m' },
        undefined,
        platform,
      );
      try {
        const { cookie } = await login(app);
        for (let step = 0; step < 4; step++) {
          clock.advance(9 * MINUTE);
          await request(app.getHttpServer()).get('/me').set('Cookie', cookie).expect(200);
        }
        // 36 minutes after login, far beyond one idle period: still alive thanks to activity.
        clock.advance(10 * MINUTE);
        const expired = await request(app.getHttpServer()).get('/me').set('Cookie', cookie);
        expect(expired.status).toBe(401);
      } finally {
        await app.close();
      }
    });

    it('never moves the absolute timeout, whatever the activity', async () => {
      const { app, clock } = await createTestApp(
        {
          idleTimeout: '10m',
          absoluteTimeout: '30m',
          touchAfter: '1m',
        },
        undefined,
        platform,
      );
      const store = spyOnStore(app);
      try {
        const { cookie, id } = await login(app);
        const absoluteEnd = clock.current + 30 * MINUTE;
        for (let step = 0; step < 3; step++) {
          clock.advance(9 * MINUTE);
          await request(app.getHttpServer()).post('/counter').set('Cookie', cookie).expect(200);
          await request(app.getHttpServer()).get('/me').set('Cookie', cookie).expect(200);
          const stored = await store.store.get(id);
          expect(stored?.absoluteExpiresAt).toBe(absoluteEnd);
          expect(stored?.expiresAt).toBeLessThanOrEqual(absoluteEnd);
        }
        // 27 minutes in; regenerating keeps the absolute end too.
        const regenerated = await request(app.getHttpServer())
          .post('/regenerate-and-write')
          .set('Cookie', cookie)
          .expect(200);
        const newCookie = cookieFrom(regenerated);
        const newId = (regenerated.body as { id: string }).id;
        expect((await store.store.get(newId))?.absoluteExpiresAt).toBe(absoluteEnd);

        clock.advance(2 * MINUTE);
        await request(app.getHttpServer()).get('/me').set('Cookie', newCookie).expect(200);
        clock.advance(MINUTE);
        // Exactly at the absolute end, only 1 minute after the last activity.
        await request(app.getHttpServer()).get('/me').set('Cookie', newCookie).expect(401);
      } finally {
        store.restore();
        await app.close();
      }
    });

    it('an idle-expired session is deleted from the store when seen, the request is anonymous and the cookie cleared', async () => {
      const { app, clock } = await createTestApp(
        { idleTimeout: '10m', touchAfter: '1m' },
        undefined,
        platform,
      );
      const store = spyOnStore(app);
      try {
        const { cookie, id } = await login(app, 'expiring');
        expect(store.store.size).toBe(1);
        clock.advance(10 * MINUTE);

        const response = await request(app.getHttpServer()).get('/anon/peek').set('Cookie', cookie);

        expect(response.status).toBe(200);
        expect(response.body).toEqual({ userId: null, theme: null });
        expect(store.store.size).toBe(0);
        expect(await store.store.listByUser('expiring')).toEqual([]);
        expectDefaultClearingCookie(theSessionSetCookie(response));
        expect(response.headers['cache-control']).toBe('private, no-store');
        expect(await store.store.get(id)).toBeNull();
      } finally {
        store.restore();
        await app.close();
      }
    });

    it('deletes a session the store still returns once the session clock says it has expired', async () => {
      // A store whose own clock lags (as a store with coarse TTLs may): it still hands out the
      // record, and the library must delete it and treat the request as anonymous.
      const clock = new FakeClock();
      const frozenAt = clock.current;
      const lagging = new MemoryStore({ now: () => frozenAt });
      const { app } = await createTestApp(
        { store: lagging, idleTimeout: '10m', touchAfter: '1m' },
        clock,
        platform,
      );
      const store = spyOnStore(app);
      try {
        const { cookie, id } = await login(app);
        clock.advance(10 * MINUTE);
        store.reset();

        const response = await request(app.getHttpServer()).get('/me').set('Cookie', cookie);

        expect(response.status).toBe(401);
        expect(store.spies.destroy).toHaveBeenCalledWith(id);
        expect(lagging.size).toBe(0);
        expectDefaultClearingCookie(theSessionSetCookie(response));
        expect(response.headers['cache-control']).toBe('private, no-store');
      } finally {
        store.restore();
        await app.close();
      }
    });

    it('an absolute-expired session is anonymous and deleted even right after activity', async () => {
      const { app, clock } = await createTestApp(
        {
          idleTimeout: '10m',
          absoluteTimeout: '20m',
          touchAfter: '1m',
        },
        undefined,
        platform,
      );
      const store = spyOnStore(app);
      try {
        const { cookie } = await login(app);
        clock.advance(9 * MINUTE);
        await request(app.getHttpServer()).get('/me').set('Cookie', cookie).expect(200);
        clock.advance(9 * MINUTE);
        await request(app.getHttpServer()).get('/me').set('Cookie', cookie).expect(200);
        clock.advance(2 * MINUTE);
        // 20 minutes after login, 2 after the last activity.
        const response = await request(app.getHttpServer()).get('/me').set('Cookie', cookie);
        expect(response.status).toBe(401);
        expect(store.store.size).toBe(0);
        expectDefaultClearingCookie(theSessionSetCookie(response));
      } finally {
        store.restore();
        await app.close();
      }
    });
  });

  describe('cookie attributes', () => {
    it('sets the hardened defaults: __Host-sid, Secure, HttpOnly, SameSite=Lax, Path=/, no Domain, no Max-Age', async () => {
      const { app } = await createTestApp({}, undefined, platform);
      try {
        const { response } = await login(app);
        const parsed = parseSetCookieHeader(theSessionSetCookie(response));
        expect(parsed.name).toBe('__Host-sid');
        expect(parsed.value).toMatch(SIGNED_VALUE);
        expect(parsed.attributes).toEqual({
          path: '/',
          secure: true,
          httponly: true,
          samesite: 'Lax',
        });
        expect(response.headers['cache-control']).toBe('private, no-store');
      } finally {
        await app.close();
      }
    });

    it('a persistent cookie gets a Max-Age no longer than the absolute lifetime left', async () => {
      const { app, clock } = await createTestApp(
        {
          cookie: { persistent: true },
          absoluteTimeout: '1h',
          idleTimeout: '30m',
        },
        undefined,
        platform,
      );
      try {
        const { cookie, response } = await login(app);
        const first = parseSetCookieHeader(theSessionSetCookie(response));
        expect(first.attributes['max-age']).toBe('3600');

        clock.advance(10 * MINUTE + 500);
        const regenerated = await request(app.getHttpServer())
          .post('/regenerate-and-write')
          .set('Cookie', cookie)
          .expect(200);
        const second = parseSetCookieHeader(theSessionSetCookie(regenerated));
        const maxAge = Number(second.attributes['max-age']);
        expect(maxAge).toBeLessThanOrEqual(3000);
        expect(maxAge).toBeGreaterThanOrEqual(2999);
        expect(second.attributes.expires).toBeUndefined();
      } finally {
        await app.close();
      }
    });

    it('every response that sets or clears the session cookie has Cache-Control: no-store', async () => {
      const { app } = await createTestApp({}, undefined, platform);
      try {
        const { cookie, response: loginResponse } = await login(app);
        expect(loginResponse.headers['cache-control']).toBe('private, no-store');

        const regenerated = await request(app.getHttpServer())
          .post('/regenerate-and-write')
          .set('Cookie', cookie);
        expect(regenerated.headers['cache-control']).toBe('private, no-store');

        const logout = await request(app.getHttpServer())
          .post('/logout')
          .set('Cookie', cookieFrom(regenerated));
        expect(sessionSetCookies(logout)).toHaveLength(1);
        expect(logout.headers['cache-control']).toBe('private, no-store');

        const bad = await request(app.getHttpServer()).get('/me').set('Cookie', '__Host-sid=bad');
        expect(sessionSetCookies(bad)).toHaveLength(1);
        expect(bad.headers['cache-control']).toBe('private, no-store');
      } finally {
        await app.close();
      }
    });
  });

  describe('exactly one Set-Cookie for the session per response', () => {
    let app: INestApplication;
    beforeAll(async () => {
      ({ app } = await createTestApp({}, undefined, platform));
    });
    afterAll(async () => {
      await app.close();
    });

    it('when a handler regenerates and writes in the same request', async () => {
      const { cookie, id } = await login(app);
      const response = await request(app.getHttpServer())
        .post('/regenerate-and-write')
        .set('Cookie', cookie)
        .expect(200);

      const newCookie = cookieFrom(response);
      expect(newCookie).not.toBe(cookie);
      expect((response.body as { id: string }).id).not.toBe(id);
      const me = await request(app.getHttpServer()).get('/me').set('Cookie', newCookie);
      expect(me.body).toMatchObject({ userId: 'alice', data: { counter: 100 } });
      // The old token stopped working.
      await request(app.getHttpServer()).get('/me').set('Cookie', cookie).expect(401);
    });

    it('when a bad cookie is cleared and the handler then writes a new anonymous session', async () => {
      const response = await request(app.getHttpServer())
        .post('/anon/theme')
        .set('Cookie', '__Host-sid=garbage')
        .send({ theme: 'light' })
        .expect(200);

      const cookie = cookieFrom(response);
      const peek = await request(app.getHttpServer()).get('/anon/peek').set('Cookie', cookie);
      expect(peek.body).toEqual({ userId: null, theme: 'light' });
    });

    it('when an anonymous session logs in', async () => {
      const anonymous = await request(app.getHttpServer())
        .post('/anon/theme')
        .send({ theme: 'dark' });
      const { response } = await login(app, 'alice', { cookie: cookieFrom(anonymous) });
      expect(sessionSetCookies(response)).toHaveLength(1);
    });
  });

  describe('secret rotation', () => {
    it('accepts a cookie signed with an older secret and re-signs it with the current one', async () => {
      const clock = new FakeClock();
      const shared = new MemoryStore({ now: clock.now });
      const before = await createTestApp({ secret: OTHER_SECRET, store: shared }, clock, platform);
      const rotated = await createTestApp(
        { secret: [TEST_SECRET, OTHER_SECRET], store: shared },
        clock,
        platform,
      );
      const after = await createTestApp({ secret: TEST_SECRET, store: shared }, clock, platform);
      try {
        const { cookie: oldCookie, id } = await login(before.app);
        // Not valid under the new secret alone.
        await request(after.app.getHttpServer()).get('/me').set('Cookie', oldCookie).expect(401);

        const response = await request(rotated.app.getHttpServer())
          .get('/me')
          .set('Cookie', oldCookie);
        expect(response.status).toBe(200);
        expect(response.body).toMatchObject({ userId: 'alice', id });
        const resigned = cookieFrom(response);
        expect(response.headers['cache-control']).toBe('private, no-store');
        const [oldToken, oldSignature] = valueOf(oldCookie).split('.');
        const [newToken, newSignature] = valueOf(resigned).split('.');
        expect(newToken).toBe(oldToken);
        expect(newSignature).not.toBe(oldSignature);

        // The re-signed cookie is valid under the current secret alone, for the same session.
        const later = await request(after.app.getHttpServer()).get('/me').set('Cookie', resigned);
        expect(later.status).toBe(200);
        expect(later.body).toMatchObject({ userId: 'alice', id });

        // A cookie signed with the current secret is not re-signed again.
        const current = await request(rotated.app.getHttpServer())
          .get('/me')
          .set('Cookie', resigned);
        expect(current.status).toBe(200);
        expect(sessionSetCookies(current)).toEqual([]);
      } finally {
        await before.app.close();
        await rotated.app.close();
        await after.app.close();
      }
    });
  });
});
