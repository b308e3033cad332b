import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { SESSION_RUNTIME, type SessionRuntime } from '../lib/core/session-runtime.js';
import type { SessionEvent } from '../lib/events/session-event.js';
import { cookieFrom } from './fixtures/session-helpers.js';
import {
  createSocketApp,
  SOCKET_PLATFORMS,
  type SocketApp,
  type SocketPlatform,
} from './fixtures/socket-app.js';
import { PLATFORMS, type Platform } from './support/platforms.js';
import { closedWithin, connectSocket, type TestSocket } from './support/socket-clients.js';

/*
 * Token rotation and WebSockets (real ports, real `ws` and socket.io clients): a socket keeps
 * its handshake's token, so when the session rotates over HTTP the socket is closed and the
 * client reconnects with the new cookie. A rotated-out token on a socket opens nothing and is
 * never taken for theft: only an exchange that can hand out a new token applies that rule.
 */

const EVERY_MS = 60_000;
const GRACE_MS = 10_000;
const CHECK_INTERVAL_MS = 500;
const BOUND_MS = CHECK_INTERVAL_MS + 600;

const opened: TestSocket[] = [];
afterEach(() => {
  opened.splice(0).forEach((socket) => socket.close());
});

const MATRIX = SOCKET_PLATFORMS.flatMap((socket) =>
  PLATFORMS.map((http): [SocketPlatform, Platform] => [socket, http]),
);

describe.each(MATRIX)('token rotation and WebSockets: %s over %s', (platform, http) => {
  let fixture: SocketApp;
  let app: INestApplication;
  const events: SessionEvent[] = [];
  const connect = async (headers: Record<string, string> = {}) => {
    const socket = await connectSocket(platform, fixture.url, headers);
    opened.push(socket);
    return socket;
  };

  beforeAll(async () => {
    fixture = await createSocketApp({
      socket: platform,
      http,
      session: {
        socketCheckInterval: CHECK_INTERVAL_MS,
        rotateEvery: EVERY_MS,
        rotationGrace: GRACE_MS,
      },
    });
    app = fixture.app;
    app.get<SessionRuntime>(SESSION_RUNTIME).events.subscribe((event) => {
      events.push(event);
    });
  });
  afterAll(async () => {
    await app.close();
  });

  it('a socket whose session rotates is closed; the new cookie reconnects; the old token on a socket is never theft', async () => {
    const login = await request(app.getHttpServer()).post('/login').send({ userId: 'alice' });
    expect(login.status).toBe(200);
    const cookie = cookieFrom(login);
    const socket = await connect({ cookie });
    const first = await socket.request('whoami');
    expect(first).toMatchObject({ event: 'whoami', data: { userId: 'alice' } });

    fixture.clock.advance(EVERY_MS + 1);
    const rotated = await request(app.getHttpServer()).get('/me').set('Cookie', cookie);
    expect(rotated.status).toBe(200);
    const next = cookieFrom(rotated);
    expect(next).not.toBe(cookie);
    expect(await closedWithin(socket, BOUND_MS)).not.toBeNull();

    const again = await connect({ cookie: next });
    const reconnected = await again.request('whoami');
    expect(reconnected).toMatchObject({ event: 'whoami', data: { userId: 'alice' } });
    expect((reconnected.data as { id: string }).id).not.toBe((first.data as { id: string }).id);

    // After the grace window, the old token on a socket: no session, no theft, nothing revoked.
    fixture.clock.advance(GRACE_MS + 1);
    const stale = await connect({ cookie });
    expect(await stale.request('whoami')).toMatchObject({ event: 'exception' });
    expect(events.filter((event) => event.type === 'revoked')).toEqual([]);
    expect(await again.request('whoami')).toMatchObject({ event: 'whoami' });
    const me = await request(app.getHttpServer()).get('/me').set('Cookie', next);
    expect(me.status).toBe(200);
  });
});
