import { jest } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { MemoryStore, SessionStore } from 'nest-secure-session';
import request from 'supertest';
import { login } from './fixtures/session-helpers.js';
import { createTestApp, FakeClock } from './fixtures/test-app.js';
import { PLATFORMS } from './support/platforms.js';

describe.each(PLATFORMS)('saving the session before the response is sent (%s)', (platform) => {
  let app: INestApplication;

  afterEach(async () => {
    jest.restoreAllMocks();
    await app.close();
  });

  it('answers 2xx only once the change is in the store', async () => {
    ({ app } = await createTestApp({}, undefined, platform));
    const { cookie, id } = await login(app);
    const store = app.get<MemoryStore>(SessionStore);
    const response = await request(app.getHttpServer()).post('/counter').set('Cookie', cookie);
    expect(response.status).toBe(200);
    // Read straight after the response: no wait, no retry.
    expect((await store.get(id))?.data.counter).toBe('1');
  });

  it('saves nothing when the handler fails after changing the session', async () => {
    ({ app } = await createTestApp({}, undefined, platform));
    const { cookie, id } = await login(app);
    const store = app.get<MemoryStore>(SessionStore);
    const failed = await request(app.getHttpServer())
      .post('/counter-then-fail')
      .set('Cookie', cookie);
    expect(failed.status).toBe(400);
    expect((await store.get(id))?.data.counter).toBeUndefined();
    const next = await request(app.getHttpServer()).post('/counter').set('Cookie', cookie);
    expect(next.body).toEqual({ counter: 1 });
  });

  it('replaces the response with a 503 when the save fails, and never a 2xx', async () => {
    const clock = new FakeClock();
    ({ app } = await createTestApp({}, clock, platform));
    const { cookie } = await login(app);
    const store = app.get<MemoryStore>(SessionStore);
    jest.spyOn(store, 'update').mockRejectedValue(new Error('connection reset'));
    const response = await request(app.getHttpServer()).post('/counter').set('Cookie', cookie);
    expect(response.status).toBe(503);
    expect(response.body).toMatchObject({ statusCode: 503, error: 'Service Unavailable' });
    expect(JSON.stringify(response.body)).not.toContain('counter');
  });

  it('a route that never touches the session keeps its response untouched', async () => {
    ({ app } = await createTestApp({}, undefined, platform));
    const { cookie } = await login(app);
    const response = await request(app.getHttpServer()).get('/public').set('Cookie', cookie);
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ ok: true });
    expect(response.headers['set-cookie']).toBeUndefined();
    expect(response.headers['content-length']).toBe(String(JSON.stringify({ ok: true }).length));
  });
});
