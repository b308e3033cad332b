import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Injectable, Module, type INestApplication } from '@nestjs/common';
import { EventEmitterModule, OnEvent } from '@nestjs/event-emitter';
import { Test } from '@nestjs/testing';
import type { Redis } from 'ioredis';
import {
  RedisStore,
  SessionEvents,
  SessionModule,
  type SessionAuthenticatedEvent,
  type SessionEvent,
  type SessionRevokedEvent,
} from 'nest-secure-session';
import request from 'supertest';
import { SESSION_CLOCK } from '../lib/core/session-runtime.js';
import { FakeClock, TEST_CONTROLLERS, TEST_SECRET } from './fixtures/test-app.js';
import { login } from './fixtures/session-helpers.js';
import { initApp, PLATFORMS } from './support/platforms.js';
import { connectRedis, uniquePrefix } from './support/redis-env.js';
import { rawCommand, startRedisServer, type RedisServer } from './support/redis-server.js';

/**
 * How events reach the app: `@nestjs/event-emitter` (`@OnEvent('session.<type>')`) when the app
 * has `EventEmitterModule`, and Redis keyspace notifications (`expiryEvents: true`).
 */

@Injectable()
class LoginAudit {
  readonly logins: SessionAuthenticatedEvent[] = [];
  readonly ended: SessionRevokedEvent[] = [];

  @OnEvent('session.authenticated')
  onLogin(event: SessionAuthenticatedEvent): void {
    this.logins.push(event);
  }

  @OnEvent('session.revoked')
  onRevoked(event: SessionRevokedEvent): void {
    this.ended.push(event);
  }

  @OnEvent('session.authenticated')
  broken(): void {
    throw new Error('an audit listener bug');
  }
}

const open: INestApplication[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((app) => app.close()));
});

describe.each(PLATFORMS)('@nestjs/event-emitter (%s)', (platform) => {
  it("@OnEvent('session.authenticated') and ('session.revoked') receive the events", async () => {
    @Module({
      imports: [
        EventEmitterModule.forRoot(),
        SessionModule.forRoot({ secret: TEST_SECRET, global: true, csrf: false }),
      ],
      controllers: TEST_CONTROLLERS,
      providers: [LoginAudit],
    })
    class EventsAppModule {}
    const moduleRef = await Test.createTestingModule({ imports: [EventsAppModule] }).compile();
    const app = await initApp(moduleRef, platform);
    open.push(app);
    const audit = app.get(LoginAudit);

    const { cookie, id } = await login(app, 'olivia');
    const logout = await request(app.getHttpServer()).post('/logout').set('Cookie', cookie);
    expect(logout.status).toBe(200);

    expect(audit.logins).toEqual([
      {
        type: 'authenticated',
        sessionId: id,
        userId: 'olivia',
        previousSessionId: null,
        at: expect.any(Date),
      },
    ]);
    expect(audit.ended).toEqual([
      {
        type: 'revoked',
        reason: 'logout',
        userId: 'olivia',
        sessionIds: [id],
        count: 1,
        at: expect.any(Date),
      },
    ]);
  });
});

describe.each(PLATFORMS)("RedisStore expiryEvents: source 'keyspace' (%s)", (platform) => {
  let server: RedisServer;
  let client: Redis;
  const prefix = uniquePrefix('expiry');

  beforeAll(async () => {
    server = await startRedisServer();
    expect(await rawCommand(server.port, 'CONFIG SET notify-keyspace-events Ex')).toBe('+OK\r\n');
    client = await connectRedis(server.url);
  });
  afterAll(async () => {
    client?.disconnect();
    await server?.stop();
  });

  /** Subscribers on the expired-key channel of db 0, as Redis counts them. */
  const subscribers = async () =>
    Number(
      /:(\d+)\r\n$/.exec(
        await rawCommand(server.port, 'PUBSUB NUMSUB __keyevent@0__:expired'),
      )?.[1],
    );

  it('a session Redis expires is reported once, with no user; close() unsubscribes', async () => {
    const store = new RedisStore({ client, prefix, expiryEvents: true });
    @Module({
      imports: [
        SessionModule.forRoot({
          secret: TEST_SECRET,
          global: true,
          csrf: false,
          store,
          idleTimeout: '1s',
          touchAfter: '500ms',
        }),
      ],
      controllers: TEST_CONTROLLERS,
    })
    class KeyspaceAppModule {}
    const moduleRef = await Test.createTestingModule({ imports: [KeyspaceAppModule] })
      .overrideProvider(SESSION_CLOCK)
      .useValue(new FakeClock(Date.now()).now)
      .compile();
    const app = await initApp(moduleRef, platform);
    const events: SessionEvent[] = [];
    app.get(SessionEvents).subscribe((event) => {
      events.push(event);
    });
    for (let waited = 0; (await subscribers()) < 1 && waited < 2_000; waited += 25) {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(await subscribers()).toBe(1);

    const { id } = await login(app, 'peggy');
    events.length = 0;
    const deadline = Date.now() + 5_000;
    while (events.length === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(events.map(({ at: _at, ...rest }) => rest)).toEqual([
      { type: 'expired', sessionId: id, userId: null, source: 'keyspace' },
    ]);
    // The user's index keys expire later, and revocation keys have a suffix: never reported.
    await client.set(`${prefix}{u:peggy}:other`, 'x', 'PX', 20);
    await client.set(`${prefix}{${id}}:rev`, 'x', 'PX', 20);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(events).toHaveLength(1);

    await app.close();
    expect(await subscribers()).toBe(0);
    expect(client.status).toBe('ready'); // The app's client stays the app's.
  });
});
