import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { login, sessionSetCookies } from './fixtures/session-helpers.js';
import { createTestApp } from './fixtures/test-app.js';
import { PLATFORMS } from './support/platforms.js';

/** A response made for a logged-in user must never sit in a shared (or any) cache. */
describe.each(PLATFORMS)('Cache-Control of session responses (%s)', (platform) => {
  let app: INestApplication;
  let cookie: string;

  beforeAll(async () => {
    ({ app } = await createTestApp({}, undefined, platform));
    ({ cookie } = await login(app, 'alice'));
  });
  afterAll(async () => {
    await app.close();
  });

  it('an authenticated read that sets no cookie is private, no-store', async () => {
    const me = await request(app.getHttpServer()).get('/me').set('Cookie', cookie).expect(200);
    expect(sessionSetCookies(me)).toEqual([]);
    expect(me.headers['cache-control']).toBe('private, no-store');
  });

  it('so is a public route that read an authenticated session', async () => {
    const peek = await request(app.getHttpServer())
      .get('/anon/peek')
      .set('Cookie', cookie)
      .expect(200);
    expect(peek.headers['cache-control']).toBe('private, no-store');
  });

  it('a public route that never touches the session keeps its own caching', async () => {
    const open = await request(app.getHttpServer())
      .get('/public')
      .set('Cookie', cookie)
      .expect(200);
    expect(open.headers['cache-control']).toBeUndefined();
  });

  it('an anonymous read of the session adds nothing', async () => {
    const peek = await request(app.getHttpServer()).get('/anon/peek').expect(200);
    expect(peek.headers['cache-control']).toBeUndefined();
  });
});
