import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { createTestApp, type FakeClock } from './fixtures/test-app.js';
import { PLATFORMS } from './support/platforms.js';
import { cookieFrom, login, NO_STORE_IO, spyOnStore } from './fixtures/session-helpers.js';

const MINUTE = 60_000;

describe.each(PLATFORMS)('SessionGuard (%s)', (platform) => {
  describe('global: true', () => {
    let app: INestApplication;
    let clock: FakeClock;
    let store: ReturnType<typeof spyOnStore>;

    beforeAll(async () => {
      ({ app, clock } = await createTestApp({ global: true }, undefined, platform));
      store = spyOnStore(app);
    });
    afterAll(async () => {
      store.restore();
      await app.close();
    });
    beforeEach(() => store.reset());

    it('answers 401 with a JSON error body without a session', async () => {
      const response = await request(app.getHttpServer()).get('/me');

      expect(response.status).toBe(401);
      expect(response.headers['content-type']).toMatch(/^application\/json/);
      expect(response.body).toEqual({
        statusCode: 401,
        error: 'Unauthorized',
        message: expect.any(String),
      });
      expect(store.calls()).toEqual(NO_STORE_IO);
    });

    it('protects every route that is not @Public(), including controllers without @UseGuards', async () => {
      await request(app.getHttpServer()).get('/open').expect(401);
      await request(app.getHttpServer()).get('/guarded').expect(401);
      await request(app.getHttpServer()).post('/counter').expect(401);
      await request(app.getHttpServer()).get('/sessions').expect(401);
    });

    it('answers 401 for an anonymous session that holds data but no login', async () => {
      const anonymous = await request(app.getHttpServer())
        .post('/anon/theme')
        .send({ theme: 'dark' })
        .expect(200);
      const cookie = cookieFrom(anonymous);

      await request(app.getHttpServer()).get('/me').set('Cookie', cookie).expect(401);
      await request(app.getHttpServer()).get('/guarded').set('Cookie', cookie).expect(401);
    });

    it('lets @Public() routes through without a session and without store I/O', async () => {
      const response = await request(app.getHttpServer()).get('/public');
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ ok: true });
      expect(store.calls()).toEqual(NO_STORE_IO);
    });

    it('lets a live session through', async () => {
      const { cookie, id } = await login(app, 'alice');
      const me = await request(app.getHttpServer()).get('/me').set('Cookie', cookie);
      expect(me.status).toBe(200);
      expect(me.body).toMatchObject({ userId: 'alice', id });
      await request(app.getHttpServer()).get('/open').set('Cookie', cookie).expect(200);
      await request(app.getHttpServer()).get('/guarded').set('Cookie', cookie).expect(200);
    });

    it('@Roles answers 403 when a role is missing and 200 when all are present', async () => {
      const user = await login(app, 'bob', { roles: ['user'] });
      const forbidden = await request(app.getHttpServer()).get('/admin').set('Cookie', user.cookie);
      expect(forbidden.status).toBe(403);
      expect(forbidden.headers['content-type']).toMatch(/^application\/json/);
      expect(forbidden.body).toMatchObject({ statusCode: 403, error: 'Forbidden' });
      expect(forbidden.body.message).toContain('admin');

      const admin = await login(app, 'root', { roles: ['user', 'admin'] });
      const allowed = await request(app.getHttpServer()).get('/admin').set('Cookie', admin.cookie);
      expect(allowed.status).toBe(200);
      expect(allowed.body).toEqual({ admin: true });
    });

    it('@Roles answers 401, not 403, without a session', async () => {
      await request(app.getHttpServer()).get('/admin').expect(401);
    });

    it('@FreshSession answers 401 with reauthenticate: true once the login is older than maxAge', async () => {
      const { cookie } = await login(app, 'carol');
      await request(app.getHttpServer()).post('/sensitive').set('Cookie', cookie).expect(200);

      clock.advance(5 * MINUTE);
      await request(app.getHttpServer()).post('/sensitive').set('Cookie', cookie).expect(200);

      clock.advance(1);
      const stale = await request(app.getHttpServer()).post('/sensitive').set('Cookie', cookie);
      expect(stale.status).toBe(401);
      expect(stale.body).toMatchObject({ statusCode: 401, reauthenticate: true });
      // The session itself is still live: only the sensitive route wants a new login.
      await request(app.getHttpServer()).get('/me').set('Cookie', cookie).expect(200);

      // Logging in again makes it fresh.
      const again = await login(app, 'carol', { cookie });
      await request(app.getHttpServer()).post('/sensitive').set('Cookie', again.cookie).expect(200);
    });

    it('@FreshSession answers a plain 401 (no reauthenticate hint needed) without a session', async () => {
      const response = await request(app.getHttpServer()).post('/sensitive');
      expect(response.status).toBe(401);
      expect(response.body.reauthenticate).toBeUndefined();
    });
  });

  describe('global: false with @UseGuards(SessionGuard)', () => {
    let app: INestApplication;
    let store: ReturnType<typeof spyOnStore>;

    beforeAll(async () => {
      ({ app } = await createTestApp({ global: false }, undefined, platform));
      store = spyOnStore(app);
    });
    afterAll(async () => {
      store.restore();
      await app.close();
    });
    beforeEach(() => store.reset());

    it('the guarded controller answers 401 JSON without a session', async () => {
      const response = await request(app.getHttpServer()).get('/guarded');
      expect(response.status).toBe(401);
      expect(response.body).toMatchObject({ statusCode: 401, error: 'Unauthorized' });
    });

    it('the guarded controller lets a live session through', async () => {
      const { cookie } = await login(app);
      await request(app.getHttpServer()).get('/guarded').set('Cookie', cookie).expect(200);
    });

    it('an unguarded controller is open, and costs no store I/O', async () => {
      const { cookie } = await login(app);
      store.reset();
      await request(app.getHttpServer()).get('/open').expect(200);
      await request(app.getHttpServer()).get('/open').set('Cookie', cookie).expect(200);
      expect(store.calls()).toEqual(NO_STORE_IO);
    });
  });
});
