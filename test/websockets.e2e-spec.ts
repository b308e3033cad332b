import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Logger, type INestApplication } from '@nestjs/common';
import { SessionStore } from 'nest-secure-session';
import { performance } from 'node:perf_hooks';
import request from 'supertest';
import { SocketSessionInterceptor } from '../lib/platform/socket-session.interceptor.js';
import { SocketSessions } from '../lib/platform/socket-sessions.js';
import { createTestApp } from './fixtures/test-app.js';
import { cookieFrom } from './fixtures/session-helpers.js';
import {
  createSocketApp,
  SOCKET_PLATFORMS,
  type SocketApp,
  type SocketPlatform,
} from './fixtures/socket-app.js';
import { PLATFORMS, type Platform } from './support/platforms.js';
import {
  closedWithin,
  connectSocket,
  HandshakeRefused,
  type Closed,
  type TestSocket,
} from './support/socket-clients.js';

/*
 * Real apps on real ports (Express and Fastify), gateways on the real `ws` and socket.io
 * servers, and real `ws` / `socket.io-client` clients sending the session cookie in the
 * handshake, as a browser would.
 */

/** Short enough for tests, long enough to tell "at once" from "at the next check". */
const CHECK_INTERVAL_MS = 750;
/** "At once": well under one check interval. */
const AT_ONCE_MS = CHECK_INTERVAL_MS / 5;
/** The bound on closing, with room for a loaded CI machine: one interval plus a margin. */
const BOUND_MS = CHECK_INTERVAL_MS + 600;
const TRUSTED = 'https://app.example.com';

interface Login {
  cookie: string;
  id: string;
  csrfToken: string;
  bearerToken: string | null;
}

/** Logs `userId` in over HTTP. */
async function login(
  app: INestApplication,
  userId = 'alice',
  options: { roles?: string[]; transport?: 'header' } = {},
): Promise<Login> {
  const response = await request(app.getHttpServer())
    .post('/login')
    .send({ userId, ...options });
  expect(response.status).toBe(200);
  const body = response.body as Omit<Login, 'cookie'>;
  return { ...body, cookie: options.transport === 'header' ? '' : cookieFrom(response) };
}

/** Every socket a test opened, closed after it. */
const opened: TestSocket[] = [];
afterEach(() => {
  opened.splice(0).forEach((socket) => socket.close());
});

/** The refusal a handshake met; fails the test when it was accepted. */
async function refusalOf(promise: Promise<TestSocket>): Promise<HandshakeRefused> {
  try {
    opened.push(await promise);
  } catch (error) {
    expect(error).toBeInstanceOf(HandshakeRefused);
    return error as HandshakeRefused;
  }
  throw new Error('The handshake was accepted');
}

/** Prints measured delays with WS_TIMINGS=1. */
function report(line: string): void {
  if (process.env.WS_TIMINGS === '1') {
    console.warn(line);
  }
}

/** Resolves once `condition()` holds; fails after 2 s. */
async function eventually(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 2_000;
  while (!condition()) {
    if (Date.now() > deadline) {
      throw new Error('The condition did not hold within 2 s');
    }
    await new Promise((done) => setTimeout(done, 10));
  }
}

/** How the server ends the socket of a session that ended. */
function expectSessionEnded(platform: SocketPlatform, closed: Closed | null): void {
  expect(closed).not.toBeNull();
  expect(closed).toMatchObject(
    platform === 'ws'
      ? { code: 1008, reason: 'Session ended' }
      : { reason: 'io server disconnect' },
  );
}

const MATRIX = SOCKET_PLATFORMS.flatMap((socket) =>
  PLATFORMS.map((http): [SocketPlatform, Platform] => [socket, http]),
);

describe.each(MATRIX)('WebSockets: %s over %s', (platform, http) => {
  let fixture: SocketApp;
  let app: INestApplication;
  const connect = async (headers: Record<string, string> = {}) => {
    const socket = await connectSocket(platform, fixture.url, headers);
    opened.push(socket);
    return socket;
  };
  const post = (path: string, session: Login) =>
    request(app.getHttpServer())
      .post(path)
      .set('Cookie', session.cookie)
      .set('x-csrf-token', session.csrfToken);

  beforeAll(async () => {
    fixture = await createSocketApp({
      socket: platform,
      http,
      session: {
        socketCheckInterval: CHECK_INTERVAL_MS,
        transport: ['cookie', 'header'],
        csrf: { trustedOrigins: [TRUSTED] },
      },
    });
    app = fixture.app;
  });
  afterAll(async () => {
    await app.close();
  });

  it('serves an anonymous socket: public messages answer, guarded ones deny', async () => {
    const socket = await connect();
    expect(await socket.request('public')).toEqual({ event: 'public', data: { ok: true } });
    expect(await socket.request('current')).toEqual({ event: 'current', data: { userId: null } });
    expect(await socket.request('whoami')).toMatchObject({ event: 'exception' });
    expect(await socket.request('count')).toMatchObject({ event: 'exception' });
    expect(socket.isOpen()).toBe(true);
  });

  it('reads the session of the handshake cookie: @Session(), SessionService.current()', async () => {
    const alice = await login(app);
    const socket = await connect({ cookie: alice.cookie });
    expect(await socket.request('whoami')).toEqual({
      event: 'whoami',
      data: { userId: 'alice', id: alice.id },
    });
    expect(await socket.request('current')).toEqual({
      event: 'current',
      data: { userId: 'alice' },
    });
  });

  it('applies @Roles() to messages', async () => {
    const user = await connect({ cookie: (await login(app, 'alice')).cookie });
    const admin = await connect({
      cookie: (await login(app, 'root', { roles: ['admin'] })).cookie,
    });
    expect(await user.request('admin')).toMatchObject({ event: 'exception' });
    expect(await admin.request('admin')).toEqual({ event: 'admin', data: { userId: 'root' } });
  });

  it('applies @FreshSession() to messages: a login older than maxAge is refused', async () => {
    const socket = await connect({ cookie: (await login(app, 'alice')).cookie });
    expect(await socket.request('sensitive')).toEqual({
      event: 'sensitive',
      data: { userId: 'alice' },
    });
    fixture.clock.advance(6 * 60_000); // past @FreshSession('5m'), within the idle timeout
    expect(await socket.request('sensitive')).toMatchObject({ event: 'exception' });
    expect(await socket.request('whoami')).toMatchObject({ event: 'whoami' });
    const anonymous = await connect();
    expect(await anonymous.request('sensitive')).toMatchObject({ event: 'exception' });
  });

  it('saves what a message changes before answering; a handler that throws saves nothing', async () => {
    const alice = await login(app);
    const socket = await connect({ cookie: alice.cookie });
    expect(await socket.request('count')).toEqual({ event: 'count', data: { counter: 1 } });
    expect(await socket.request('count')).toEqual({ event: 'count', data: { counter: 2 } });
    expect(await socket.request('count-via-service')).toEqual({
      event: 'count-via-service',
      data: { counter: 3 },
    });
    expect(await socket.request('count-then-fail')).toMatchObject({ event: 'exception' });
    const me = await request(app.getHttpServer()).get('/me').set('Cookie', alice.cookie);
    expect(me.body).toMatchObject({ userId: 'alice', data: { counter: 3 } });
  });

  it('re-reads the store for every message: a revocation is seen by the next one', async () => {
    const alice = await login(app);
    const socket = await connect({ cookie: alice.cookie });
    expect(await socket.request('whoami')).toMatchObject({ event: 'whoami' });
    // Straight in the store: no local hint, so the socket is still open for the next message.
    await app.get<SessionStore>(SessionStore).destroy(alice.id);
    expect(await socket.request('whoami')).toMatchObject({ event: 'exception' });
  });

  it('closes the socket at once when its session logs out over HTTP', async () => {
    const alice = await login(app);
    const socket = await connect({ cookie: alice.cookie });
    const other = await connect({ cookie: (await login(app, 'bob')).cookie });
    expect(await socket.request('whoami')).toMatchObject({ event: 'whoami' });
    const loggedOutAt = performance.now();
    await post('/logout', alice).expect(200);
    const closed = await closedWithin(socket, AT_ONCE_MS);
    expectSessionEnded(platform, closed);
    expect(other.isOpen()).toBe(true);
    report(
      `${platform}/${http}: closed ${(closed!.at - loggedOutAt).toFixed(1)} ms after the logout request was sent`,
    );
  });

  it('closes at once the sockets of a session revoked over HTTP, and all of a user’s', async () => {
    const phone = await login(app, 'carol');
    const laptop = await login(app, 'carol');
    const phoneSockets = [
      await connect({ cookie: phone.cookie }),
      await connect({ cookie: phone.cookie }),
    ];
    const laptopSocket = await connect({ cookie: laptop.cookie });
    await request(app.getHttpServer())
      .delete(`/sessions/${phone.id}`)
      .set('Cookie', laptop.cookie)
      .set('x-csrf-token', laptop.csrfToken)
      .expect(200);
    for (const socket of phoneSockets) {
      expectSessionEnded(platform, await closedWithin(socket, AT_ONCE_MS));
    }
    expect(laptopSocket.isOpen()).toBe(true);
    await post('/logout-everywhere', laptop).expect(200);
    expectSessionEnded(platform, await closedWithin(laptopSocket, AT_ONCE_MS));
  });

  it('closes the socket that logs its session out', async () => {
    const socket = await connect({ cookie: (await login(app)).cookie });
    // The answer races the close; the close is what matters.
    void socket.request('logout').catch(() => undefined);
    expectSessionEnded(platform, await closedWithin(socket, AT_ONCE_MS));
  });

  it('refuses login() with a cookie on a socket (no response can carry it)', async () => {
    const socket = await connect();
    const answer = await socket.request('login');
    expect(answer.event).toBe('login');
    expect((answer.data as { error: string }).error).toMatch(/no HTTP response to set the cookie/);
  });

  it('closes, within the check interval, a socket whose session ended elsewhere', async () => {
    const alice = await login(app);
    const socket = await connect({ cookie: alice.cookie });
    expect(await socket.request('whoami')).toMatchObject({ event: 'whoami' });
    // Not through this process's SessionService (as another instance would): no local hint.
    const revokedAt = performance.now();
    await app.get<SessionStore>(SessionStore).destroy(alice.id);
    const closed = await closedWithin(socket, BOUND_MS);
    expectSessionEnded(platform, closed);
    expect(closed!.at - revokedAt).toBeLessThan(BOUND_MS);
    report(
      `${platform}/${http}: closed ${(closed!.at - revokedAt).toFixed(0)} ms after a store-side revocation (interval ${CHECK_INTERVAL_MS} ms)`,
    );
  });

  it('closes, within the check interval, a socket whose session expired', async () => {
    const alice = await login(app);
    const socket = await connect({ cookie: alice.cookie });
    expect(await socket.request('whoami')).toMatchObject({ event: 'whoami' });
    fixture.clock.advance(31 * 60_000); // past the default 30 min idle timeout
    expectSessionEnded(platform, await closedWithin(socket, BOUND_MS));
  });

  it('closes, as unverified, the sockets whose session the store cannot read (fail closed)', async () => {
    const alice = await login(app);
    const socket = await connect({ cookie: alice.cookie });
    const store = app.get<SessionStore>(SessionStore);
    const get = jest.spyOn(store, 'get').mockRejectedValue(new Error('store down'));
    try {
      const closed = await closedWithin(socket, BOUND_MS);
      expect(closed).not.toBeNull();
      // socket.io: the transport closes without 'io server disconnect', so clients reconnect.
      expect(closed).toMatchObject(
        platform === 'ws' ? { code: 1013 } : { reason: 'transport close' },
      );
    } finally {
      get.mockRestore();
    }
  });

  it('reads a bearer token from the handshake, exempt from the Origin checks', async () => {
    const api = await login(app, 'dave', { transport: 'header' });
    const socket = await connect({
      authorization: `Bearer ${api.bearerToken}`,
      origin: 'https://elsewhere.example',
      'sec-fetch-site': 'cross-site',
    });
    expect(await socket.request('whoami')).toEqual({
      event: 'whoami',
      data: { userId: 'dave', id: api.id },
    });
  });

  describe('cross-site WebSocket hijacking', () => {
    const ownOrigin = () => fixture.url;

    it.each([
      ['Sec-Fetch-Site: cross-site', { 'sec-fetch-site': 'cross-site' }],
      ['a foreign Origin', { origin: 'https://evil.example' }],
      ['Origin: null', { origin: 'null' }],
      [
        'same-site, not trusted',
        { origin: 'https://sub.example.com', 'sec-fetch-site': 'same-site' },
      ],
    ])('refuses a handshake with %s carrying the session cookie (403)', async (_label, headers) => {
      const alice = await login(app);
      const refused = await refusalOf(
        connectSocket(platform, fixture.url, { cookie: alice.cookie, ...headers }),
      );
      expect(refused.status).toBe(403);
    });

    it('refuses it on the WebSocket transport of socket.io too (ws: the only transport)', async () => {
      const alice = await login(app);
      const refused = await refusalOf(
        connectSocket(
          platform,
          fixture.url,
          { cookie: alice.cookie, origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
          { socketIoTransports: ['websocket'] },
        ),
      );
      expect(refused).toBeInstanceOf(HandshakeRefused);
    });

    it('accepts the app’s own origin and a trusted same-site one', async () => {
      const alice = await login(app);
      for (const headers of [
        { origin: ownOrigin(), 'sec-fetch-site': 'same-origin' },
        { origin: TRUSTED, 'sec-fetch-site': 'same-site' },
      ]) {
        const socket = await connect({ cookie: alice.cookie, ...headers });
        expect(await socket.request('whoami')).toMatchObject({ event: 'whoami' });
      }
    });
  });

  it('tracks sessions, not sockets, and forgets them when their sockets close', async () => {
    const sessions = app.get(SocketSessions);
    const alice = await login(app);
    const sockets = [
      await connect({ cookie: alice.cookie }),
      await connect({ cookie: alice.cookie }),
      await connect({ cookie: alice.cookie }),
    ];
    // Tracking starts once the handshake's session is read, just after the connection.
    await eventually(() => sessions.trackedSessions === 1);
    await new Promise((done) => setTimeout(done, 50));
    expect(sessions.trackedSessions).toBe(1);
    sockets.forEach((socket) => socket.close());
    await eventually(() => sessions.trackedSessions === 0);
  });
});

describe.each(SOCKET_PLATFORMS)(
  'WebSockets (%s): @UseGuards(SessionGuard) on a gateway',
  (platform) => {
    let fixture: SocketApp;
    beforeAll(async () => {
      fixture = await createSocketApp({ socket: platform, session: { global: false } });
    });
    afterAll(async () => {
      await fixture.app.close();
    });

    it('denies without a session, serves with one, lets @Public() messages through', async () => {
      const anonymous = await connectSocket(platform, fixture.url);
      opened.push(anonymous);
      expect(await anonymous.request('whoami')).toMatchObject({ event: 'exception' });
      expect(await anonymous.request('public')).toEqual({ event: 'public', data: { ok: true } });
      const alice = await login(fixture.app);
      const socket = await connectSocket(platform, fixture.url, { cookie: alice.cookie });
      opened.push(socket);
      expect(await socket.request('whoami')).toMatchObject({ data: { userId: 'alice' } });
    });
  },
);

describe('WebSockets without the session adapter', () => {
  const errors: string[] = [];
  let spy: ReturnType<typeof jest.spyOn>;
  beforeAll(() => {
    spy = jest.spyOn(Logger.prototype, 'error').mockImplementation((message: unknown) => {
      errors.push(String(message));
    });
  });
  afterAll(() => spy.mockRestore());

  it.each(SOCKET_PLATFORMS)(
    '%s: guards and @Session() deny, even with a live cookie',
    async (platform) => {
      const fixture = await createSocketApp({ socket: platform, plainAdapter: true });
      try {
        const alice = await login(fixture.app);
        const socket = await connectSocket(platform, fixture.url, { cookie: alice.cookie });
        opened.push(socket);
        expect(await socket.request('whoami')).toMatchObject({ event: 'exception' });
        expect(await socket.request('whoami')).toMatchObject({ event: 'exception' });
        expect(await socket.request('public')).toMatchObject({ event: 'public' });
      } finally {
        await fixture.app.close();
      }
    },
  );

  it('logs once what is missing', () => {
    const missing = errors.filter((message) => message.includes('WebSocket client has no session'));
    expect(missing).toHaveLength(1);
    expect(missing[0]).toMatch(/SessionWsAdapter.*nest-secure-session\/ws.*SessionIoAdapter/);
  });
});

describe.each(SOCKET_PLATFORMS)('WebSockets (%s): sessions that end by other means', (platform) => {
  it('closes at once the socket of a session evicted by maxSessionsPerUser', async () => {
    const fixture = await createSocketApp({
      socket: platform,
      session: { maxSessionsPerUser: 1, socketCheckInterval: CHECK_INTERVAL_MS },
    });
    try {
      const first = await login(fixture.app, 'erin');
      const socket = await connectSocket(platform, fixture.url, { cookie: first.cookie });
      opened.push(socket);
      expect(await socket.request('whoami')).toMatchObject({ data: { userId: 'erin' } });
      await login(fixture.app, 'erin');
      expectSessionEnded(platform, await closedWithin(socket, AT_ONCE_MS));
    } finally {
      await fixture.app.close();
    }
  });

  it("stateless (store: 'cookie'): reads the sealed session; logout and revoke-all close at once", async () => {
    const fixture = await createSocketApp({
      socket: platform,
      session: { store: 'cookie', socketCheckInterval: CHECK_INTERVAL_MS },
    });
    const connect = async (cookie: string) => {
      const socket = await connectSocket(platform, fixture.url, { cookie });
      opened.push(socket);
      expect(await socket.request('whoami')).toMatchObject({ data: { userId: 'frank' } });
      return socket;
    };
    try {
      const one = await login(fixture.app, 'frank');
      const socket = await connect(one.cookie);
      await request(fixture.app.getHttpServer())
        .post('/logout')
        .set('Cookie', one.cookie)
        .set('x-csrf-token', one.csrfToken)
        .expect(200);
      expectSessionEnded(platform, await closedWithin(socket, AT_ONCE_MS));

      const two = await login(fixture.app, 'frank');
      const three = await login(fixture.app, 'frank');
      const sockets = [await connect(two.cookie), await connect(three.cookie)];
      // Sessions created before the revocation end (the fixture's clock stands still otherwise).
      fixture.clock.advance(1_000);
      await request(fixture.app.getHttpServer())
        .post('/logout-everywhere')
        .set('Cookie', two.cookie)
        .set('x-csrf-token', two.csrfToken)
        .expect(200);
      for (const each of sockets) {
        expectSessionEnded(platform, await closedWithin(each, AT_ONCE_MS));
      }
    } finally {
      await fixture.app.close();
    }
  });
});

describe('the message interceptor on HTTP', () => {
  it('never runs in an app without a session WebSocket adapter, and passes HTTP through in one', async () => {
    const intercept = jest.spyOn(SocketSessionInterceptor.prototype, 'intercept');
    const { app } = await createTestApp();
    try {
      await request(app.getHttpServer()).get('/public').expect(200);
      expect(intercept).not.toHaveBeenCalled();
    } finally {
      await app.close();
    }
    const fixture = await createSocketApp({ socket: 'ws' });
    try {
      await login(fixture.app);
      expect(intercept).toHaveBeenCalledTimes(1);
      expect(intercept.mock.results[0].value).toBeDefined();
    } finally {
      intercept.mockRestore();
      await fixture.app.close();
    }
  });
});
