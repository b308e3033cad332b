import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { NoSessionContextError, SessionService } from 'nest-secure-session';
import request from 'supertest';
import { createTestApp, type FakeClock } from './fixtures/test-app.js';
import { PLATFORMS } from './support/platforms.js';
import { login, valueOf } from './fixtures/session-helpers.js';

describe.each(PLATFORMS)('SessionService (%s)', (platform) => {
  let app: INestApplication;
  let clock: FakeClock;

  beforeAll(async () => {
    ({ app, clock } = await createTestApp({}, undefined, platform));
  });
  afterAll(async () => {
    await app.close();
  });

  describe('listForUser', () => {
    it('lists public ids, createdAt, lastSeenAt and user agent, and never a token', async () => {
      const first = await login(app, 'lister', { userAgent: 'Firefox/140' });
      const firstLogin = clock.current;
      clock.advance(1_000);
      const second = await login(app, 'lister', { userAgent: 'Chrome/150' });
      const secondLogin = clock.current;
      await login(app, 'someone-else');

      const response = await request(app.getHttpServer())
        .get('/sessions')
        .set('Cookie', second.cookie);

      expect(response.status).toBe(200);
      expect(response.body).toEqual([
        {
          id: first.id,
          createdAt: new Date(firstLogin).toISOString(),
          lastSeenAt: new Date(firstLogin).toISOString(),
          userAgent: 'Firefox/140',
        },
        {
          id: second.id,
          createdAt: new Date(secondLogin).toISOString(),
          lastSeenAt: new Date(secondLogin).toISOString(),
          userAgent: 'Chrome/150',
        },
      ]);
      for (const { cookie } of [first, second]) {
        const signed = valueOf(cookie);
        const [token, signature] = signed.split('.');
        expect(response.text).not.toContain(token);
        expect(response.text).not.toContain(signature);
      }
    });

    it('works from any provider outside a request, with Dates and no token', async () => {
      const { cookie, id } = await login(app, 'direct', { userAgent: 'curl/8' });
      const sessions = await app.get(SessionService).listForUser('direct');

      expect(sessions).toHaveLength(1);
      expect(Object.keys(sessions[0]).sort()).toEqual([
        'createdAt',
        'id',
        'lastSeenAt',
        'userAgent',
      ]);
      expect(sessions[0].id).toBe(id);
      expect(sessions[0].createdAt).toBeInstanceOf(Date);
      expect(sessions[0].lastSeenAt).toBeInstanceOf(Date);
      expect(JSON.stringify(sessions)).not.toContain(valueOf(cookie).split('.')[0]);
    });

    it('truncates a long user agent', async () => {
      await login(app, 'long-agent', { userAgent: `Agent/${'x'.repeat(2_000)}` });
      const [session] = await app.get(SessionService).listForUser('long-agent');
      expect(session.userAgent?.length).toBeLessThanOrEqual(256);
      expect(session.userAgent?.startsWith('Agent/')).toBe(true);
    });

    it('drops sessions that logged out', async () => {
      const { cookie } = await login(app, 'gone');
      await request(app.getHttpServer()).post('/logout').set('Cookie', cookie).expect(200);
      expect(await app.get(SessionService).listForUser('gone')).toEqual([]);
    });
  });

  describe('revoke', () => {
    it('ends that session wherever it is used, and only that one', async () => {
      const phone = await login(app, 'revoker');
      const laptop = await login(app, 'revoker');

      await request(app.getHttpServer())
        .delete(`/sessions/${encodeURIComponent(phone.id)}`)
        .set('Cookie', laptop.cookie)
        .expect(200);

      await request(app.getHttpServer()).get('/me').set('Cookie', phone.cookie).expect(401);
      await request(app.getHttpServer()).get('/me').set('Cookie', laptop.cookie).expect(200);
      const remaining = await app.get(SessionService).listForUser('revoker');
      expect(remaining.map((session) => session.id)).toEqual([laptop.id]);
    });
  });

  describe('revokeAllForUser', () => {
    it('ends every session of the user except the one named, and no one else', async () => {
      const keep = await login(app, 'dave');
      const other1 = await login(app, 'dave');
      const other2 = await login(app, 'dave');
      const erin = await login(app, 'erin');

      const response = await request(app.getHttpServer())
        .post('/logout-others')
        .set('Cookie', keep.cookie);

      expect(response.status).toBe(200);
      expect(response.body).toEqual({ revoked: 2 });
      await request(app.getHttpServer()).get('/me').set('Cookie', keep.cookie).expect(200);
      await request(app.getHttpServer()).get('/me').set('Cookie', other1.cookie).expect(401);
      await request(app.getHttpServer()).get('/me').set('Cookie', other2.cookie).expect(401);
      await request(app.getHttpServer()).get('/me').set('Cookie', erin.cookie).expect(200);
      const listed = await app.get(SessionService).listForUser('dave');
      expect(listed.map((session) => session.id)).toEqual([keep.id]);
    });

    it('ends every session of the user without except', async () => {
      const a = await login(app, 'frank');
      const b = await login(app, 'frank');

      expect(await app.get(SessionService).revokeAllForUser('frank')).toBe(2);

      await request(app.getHttpServer()).get('/me').set('Cookie', a.cookie).expect(401);
      await request(app.getHttpServer()).get('/me').set('Cookie', b.cookie).expect(401);
    });
  });

  describe('outside a request', () => {
    const callers: Record<string, (service: SessionService) => Promise<unknown>> = {
      current: (service) => service.current(),
      login: (service) => service.login('nobody'),
      logout: (service) => service.logout(),
    };

    it.each(Object.keys(callers))('%s() rejects with NoSessionContextError', async (method) => {
      const call = callers[method](app.get(SessionService));
      await expect(call).rejects.toBeInstanceOf(NoSessionContextError);
      await expect(callers[method](app.get(SessionService))).rejects.toThrow(
        `SessionService.${method}()`,
      );
    });
  });
});
