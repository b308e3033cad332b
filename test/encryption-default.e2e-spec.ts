import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { RedisStore, SessionStore, type SessionRecord } from 'nest-secure-session';
import request from 'supertest';
import { createSecurityApp, type SecurityAppOptions } from './fixtures/security-app.js';
import { cookieFrom } from './fixtures/session-helpers.js';
import { PLATFORMS } from './support/platforms.js';
import { connectRedis, deleteKeysWithPrefix, uniquePrefix } from './support/redis-env.js';

const SECRET_VALUE = 'PLAINTEXT-4111-1111-1111-1111';

/**
 * Encryption at rest is the default wherever sessions leave the process: a RedisStore or a
 * custom store seals every value unless the app opts out; MemoryStore keeps them plain.
 */
describe.each(PLATFORMS)('encryption at rest by default (%s)', (platform) => {
  let client: Redis;
  const prefix = uniquePrefix('encryption-default');
  const apps: INestApplication[] = [];

  beforeAll(async () => {
    client = await connectRedis();
  });
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.close()));
  });
  afterAll(async () => {
    await deleteKeysWithPrefix(client, prefix);
    await client.quit();
  });

  async function loginWith(
    options: SecurityAppOptions,
  ): Promise<{ app: INestApplication; id: string }> {
    const { app } = await createSecurityApp(options, undefined, platform);
    apps.push(app);
    const login = await request(app.getHttpServer())
      .post('/login')
      .send({ userId: 'alice', data: { card: SECRET_VALUE } })
      .expect(200);
    cookieFrom(login);
    return { app, id: (login.body as { id: string }).id };
  }

  it('RedisStore without the option: Redis sees no plaintext', async () => {
    const { id } = await loginWith({ store: new RedisStore({ client, prefix }) });
    const hash = await client.hgetall(`${prefix}{${id}}`);
    expect(hash['d:card']).toBeDefined();
    expect(JSON.stringify(hash)).not.toContain(SECRET_VALUE);
  });

  it('RedisStore with encryptAtRest: false (explicit opt-out): the value is plain', async () => {
    const { id } = await loginWith({
      encryptAtRest: false,
      store: new RedisStore({ client, prefix }),
    });
    const hash = await client.hgetall(`${prefix}{${id}}`);
    expect(hash['d:card']).toBe(JSON.stringify(SECRET_VALUE));
  });

  it('a custom store without the option gets sealed values', async () => {
    const records = new Map<string, SessionRecord>();
    const custom: SessionStore = {
      get: (id) => Promise.resolve(records.get(id) ?? null),
      set: (record) => Promise.resolve(void records.set(record.id, structuredClone(record))),
      update: () => Promise.resolve(),
      touch: () => Promise.resolve(),
      destroy: (id) => Promise.resolve(void records.delete(id)),
      listByUser: () => Promise.resolve([]),
      destroyByUser: () => Promise.resolve(0),
    };
    const { id } = await loginWith({ store: custom });
    expect(JSON.stringify(records.get(id))).not.toContain(SECRET_VALUE);
  });

  it('the default MemoryStore keeps values plain (its memory is the process own)', async () => {
    const { app, id } = await loginWith({});
    const record = await app.get<SessionStore>(SessionStore).get(id);
    expect(record?.data.card).toBe(JSON.stringify(SECRET_VALUE));
  });
});
