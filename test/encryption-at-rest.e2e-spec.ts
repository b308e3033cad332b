import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { MemoryStore, RedisStore, SessionStore, type SessionRecord } from 'nest-secure-session';
import request from 'supertest';
import { Keyring } from '../lib/crypto/keyring.js';
import { open } from '../lib/crypto/sealed-box.js';
import {
  createSecurityApp,
  FakeClock,
  OTHER_SECRET,
  TEST_SECRET,
  type SecurityAppOptions,
} from './fixtures/security-app.js';
import { PLATFORMS } from './support/platforms.js';
import { cookieFrom, sessionSetCookies, valueOf } from './fixtures/session-helpers.js';
import { connectRedis, deleteKeysWithPrefix, uniquePrefix } from './support/redis-env.js';

const SEALED = /^[A-Za-z0-9_-]{8}\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]{22}$/;
/** Values no ciphertext or metadata would contain by chance. */
const CARD = '4111-1111-1111-1111-PLAINTEXT-CARD';
const NOTE = 'PLAINTEXT-NOTE: the eagle lands at dawn';
const LATER = 'PLAINTEXT-WRITTEN-LATER';
const MARKERS = [CARD, NOTE, LATER, 'PLAINTEXT', 'eagle', '4111'];
const DATA_KEY_ID = (secret: string) => new Keyring([secret], 'data-encryption').primary.id;

interface LoggedIn {
  cookie: string;
  csrfToken: string;
  id: string;
}

/** Logs in with `card` and `note` in the session, then writes `later` in a second request. */
async function loginWithSecrets(app: INestApplication, userId = 'alice'): Promise<LoggedIn> {
  const login = await request(app.getHttpServer())
    .post('/login')
    .send({ userId, data: { card: CARD, note: NOTE } });
  expect(login.status).toBe(200);
  const session = {
    cookie: cookieFrom(login),
    ...(login.body as { csrfToken: string; id: string }),
  };
  const write = await request(app.getHttpServer())
    .post('/write')
    .set('Cookie', session.cookie)
    .set('x-csrf-token', session.csrfToken)
    .send({ key: 'later', value: { text: LATER, n: 42 } });
  expect(write.status).toBe(200);
  return session;
}

async function valueIn(app: INestApplication, cookie: string, key: string): Promise<unknown> {
  const response = await request(app.getHttpServer()).get(`/value/${key}`).set('Cookie', cookie);
  expect(response.status).toBe(200);
  return (response.body as { value: unknown }).value;
}

async function rawRecord(store: SessionStore, id: string): Promise<SessionRecord> {
  const record = await store.get(id);
  expect(record).not.toBeNull();
  return record!;
}

function expectNoPlaintext(dump: string): void {
  for (const marker of MARKERS) {
    expect(dump).not.toContain(marker);
  }
}

describe.each(PLATFORMS)('encryption at rest (%s)', (platform) => {
  const apps: INestApplication[] = [];

  async function boot(
    options: SecurityAppOptions = {},
    clock = new FakeClock(),
  ): Promise<INestApplication> {
    const { app } = await createSecurityApp({ encryptAtRest: true, ...options }, clock, platform);
    apps.push(app);
    return app;
  }

  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.close()));
  });

  describe('with MemoryStore', () => {
    it('stores every data value sealed: the raw record holds no plaintext', async () => {
      const app = await boot();
      const alice = await loginWithSecrets(app);
      const record = await rawRecord(app.get<SessionStore>(SessionStore), alice.id);
      expect(Object.keys(record.data).sort()).toEqual(['card', 'later', 'note', 'roles']);
      for (const value of Object.values(record.data)) {
        expect(value).toMatch(SEALED);
        expect(value.slice(0, 8)).toBe(DATA_KEY_ID(TEST_SECRET));
      }
      expectNoPlaintext(JSON.stringify(record));
      // The app still reads it all back.
      expect(await valueIn(app, alice.cookie, 'card')).toBe(CARD);
      expect(await valueIn(app, alice.cookie, 'note')).toBe(NOTE);
      expect(await valueIn(app, alice.cookie, 'later')).toEqual({ text: LATER, n: 42 });
      expect(await valueIn(app, alice.cookie, 'roles')).toEqual(['user']);
    });

    it('control: without encryptAtRest the same raw record shows the plaintext', async () => {
      const app = await boot({ encryptAtRest: false });
      const alice = await loginWithSecrets(app);
      const record = await rawRecord(app.get<SessionStore>(SessionStore), alice.id);
      expect(record.data.card).toBe(JSON.stringify(CARD));
      expect(JSON.stringify(record)).toContain(NOTE);
    });

    it('seals the same value differently in every session and on every write', async () => {
      const app = await boot();
      const store = app.get<SessionStore>(SessionStore);
      const a = await loginWithSecrets(app, 'alice');
      const b = await loginWithSecrets(app, 'alice');
      const first = (await rawRecord(store, a.id)).data.note;
      expect((await rawRecord(store, b.id)).data.note).not.toBe(first);
      const rewrite = await request(app.getHttpServer())
        .post('/write')
        .set('Cookie', a.cookie)
        .set('x-csrf-token', a.csrfToken)
        .send({ key: 'note', value: NOTE });
      expect(rewrite.status).toBe(200);
      const second = (await rawRecord(store, a.id)).data.note;
      expect(second).toMatch(SEALED);
      expect(second).not.toBe(first);
    });

    it('a store dump does not open even with the secret: the key also needs the token', async () => {
      const app = await boot();
      const alice = await loginWithSecrets(app);
      const record = await rawRecord(app.get<SessionStore>(SessionStore), alice.id);
      const master = new Keyring([TEST_SECRET], 'data-encryption').primary;
      for (const [key, sealed] of Object.entries(record.data)) {
        expect(open(sealed, master, `${alice.id}/${key}`)).toBeNull();
      }
    });

    it("a sealed value moved into another session's record reads as undefined there", async () => {
      const app = await boot();
      const store = app.get<SessionStore>(SessionStore);
      const a = await loginWithSecrets(app, 'alice');
      const b = await loginWithSecrets(app, 'bob');
      const bobNote = 'bob-own-note';
      const write = await request(app.getHttpServer())
        .post('/write')
        .set('Cookie', b.cookie)
        .set('x-csrf-token', b.csrfToken)
        .send({ key: 'note', value: bobNote });
      expect(write.status).toBe(200);
      const aRecord = await rawRecord(store, a.id);
      const bRecord = await rawRecord(store, b.id);
      const touch = { lastSeenAt: bRecord.lastSeenAt, expiresAt: bRecord.expiresAt };
      await store.update(
        b.id,
        {
          set: { note: aRecord.data.note, card: aRecord.data.card, stolen: aRecord.data.later },
          deleted: [],
        },
        touch,
        60_000,
      );
      expect((await rawRecord(store, b.id)).data.note).toBe(aRecord.data.note);
      expect(await valueIn(app, b.cookie, 'note')).toBeNull();
      expect(await valueIn(app, b.cookie, 'card')).toBeNull();
      expect(await valueIn(app, b.cookie, 'stolen')).toBeNull();
      // B's session keeps working; A's values are intact in A.
      const me = await request(app.getHttpServer()).get('/me').set('Cookie', b.cookie);
      expect(me.status).toBe(200);
      expect(me.body).toMatchObject({ userId: 'bob' });
      expect(JSON.stringify(me.body)).not.toContain(NOTE);
      expect(await valueIn(app, a.cookie, 'note')).toBe(NOTE);
      expect(await valueIn(app, a.cookie, 'card')).toBe(CARD);
    });

    it('a sealed value moved to another key of the same session reads as undefined', async () => {
      const app = await boot();
      const store = app.get<SessionStore>(SessionStore);
      const a = await loginWithSecrets(app);
      const record = await rawRecord(store, a.id);
      await store.update(
        a.id,
        { set: { theme: record.data.card, roles: record.data.note }, deleted: [] },
        { lastSeenAt: record.lastSeenAt, expiresAt: record.expiresAt },
        60_000,
      );
      expect(await valueIn(app, a.cookie, 'theme')).toBeNull();
      expect(await valueIn(app, a.cookie, 'roles')).toBeNull();
      expect(await valueIn(app, a.cookie, 'card')).toBe(CARD);
    });

    it('plaintext or tampered values written into the store are not read', async () => {
      const app = await boot();
      const store = app.get<SessionStore>(SessionStore);
      const a = await loginWithSecrets(app);
      const record = await rawRecord(store, a.id);
      const sealed = record.data.card;
      const flipped = `${sealed.slice(0, 20)}${sealed[20] === 'A' ? 'B' : 'A'}${sealed.slice(21)}`;
      await store.update(
        a.id,
        {
          set: {
            roles: JSON.stringify(['user', 'admin']),
            card: flipped,
            note: `${record.data.note}A`,
          },
          deleted: [],
        },
        { lastSeenAt: record.lastSeenAt, expiresAt: record.expiresAt },
        60_000,
      );
      expect(await valueIn(app, a.cookie, 'roles')).toBeNull();
      expect(await valueIn(app, a.cookie, 'card')).toBeNull();
      expect(await valueIn(app, a.cookie, 'note')).toBeNull();
    });

    it('a stored sealed value replayed as a session token is refused', async () => {
      const app = await boot({ transport: ['cookie', 'header'] });
      const a = await loginWithSecrets(app);
      const sealed = (await rawRecord(app.get<SessionStore>(SessionStore), a.id)).data.card;
      const asCookie = await request(app.getHttpServer())
        .get('/me')
        .set('Cookie', `__Host-sid=${sealed}`);
      expect(asCookie.status).toBe(401);
      const asBearer = await request(app.getHttpServer())
        .get('/me')
        .set('Authorization', `Bearer ${sealed}`);
      expect(asBearer.status).toBe(401);
      // Nor does the public id open anything.
      const idAsCookie = await request(app.getHttpServer())
        .get('/me')
        .set('Cookie', `__Host-sid=${a.id}`);
      expect(idAsCookie.status).toBe(401);
    });

    it('rotation: new key seals, old key still opens and what it opened is re-sealed; a removed key opens nothing', async () => {
      const clock = new FakeClock();
      const store = new MemoryStore({ now: clock.now });
      const oldKeyId = DATA_KEY_ID(OTHER_SECRET);
      const newKeyId = DATA_KEY_ID(TEST_SECRET);
      expect(newKeyId).not.toBe(oldKeyId);

      // App 1: only S1.
      const app1 = await boot({ secret: [OTHER_SECRET], store }, clock);
      const alice = await loginWithSecrets(app1);
      const before = await rawRecord(store, alice.id);
      for (const value of Object.values(before.data)) {
        expect(value.slice(0, 8)).toBe(oldKeyId);
      }

      // App 2: S2 first, S1 still listed, same store. Reads the old values...
      const app2 = await boot({ secret: [TEST_SECRET, OTHER_SECRET], store }, clock);
      const read = await request(app2.getHttpServer())
        .get('/value/card')
        .set('Cookie', alice.cookie);
      expect(read.status).toBe(200);
      expect(read.body).toEqual({ value: CARD });
      // ...re-signs the cookie under the new secret...
      const reissued = cookieFrom(read);
      expect(reissued).not.toBe(alice.cookie);
      expect(valueOf(reissued).split('.')[0]).toBe(valueOf(alice.cookie).split('.')[0]);
      // ...and has re-sealed every stored value under the new key id.
      const after = await rawRecord(store, alice.id);
      expect(Object.keys(after.data).sort()).toEqual(Object.keys(before.data).sort());
      for (const [key, value] of Object.entries(after.data)) {
        expect(value).toMatch(SEALED);
        expect(value.slice(0, 8)).toBe(newKeyId);
        expect(value).not.toBe(before.data[key]);
      }
      expectNoPlaintext(JSON.stringify(after));
      expect(await valueIn(app2, reissued, 'note')).toBe(NOTE);
      expect(await valueIn(app2, reissued, 'later')).toEqual({ text: LATER, n: 42 });

      // App 3: S1 removed. The cookie of the S1 era no longer opens the session...
      const app3 = await boot({ secret: [TEST_SECRET], store }, clock);
      const stale = await request(app3.getHttpServer()).get('/me').set('Cookie', alice.cookie);
      expect(stale.status).toBe(401);
      expect(sessionSetCookies(stale)).toHaveLength(1);
      // ...while the re-issued one does, with the re-sealed data.
      expect(await valueIn(app3, reissued, 'card')).toBe(CARD);
      expect(await valueIn(app3, reissued, 'roles')).toEqual(['user']);
      store.close();
    });
  });

  describe('with RedisStore (raw HGETALL)', () => {
    let client: Redis;
    const prefix = uniquePrefix('encryption-at-rest');

    beforeAll(async () => {
      // Unreachable Redis fails the suite (CI or not); it is never skipped.
      client = await connectRedis();
    });

    afterAll(async () => {
      if (client !== undefined) {
        await deleteKeysWithPrefix(client, prefix);
        await client.quit();
      }
    });

    async function rawHash(id: string): Promise<Record<string, string>> {
      const hash = await client.hgetall(`${prefix}{${id}}`);
      expect(Object.keys(hash).length).toBeGreaterThan(0);
      return hash;
    }

    it('Redis never sees plaintext session data', async () => {
      const app = await boot({ store: new RedisStore({ client, prefix }) });
      const alice = await loginWithSecrets(app);
      const hash = await rawHash(alice.id);
      const dataFields = Object.keys(hash).filter((field) => field.startsWith('d:'));
      expect(dataFields.sort()).toEqual(['d:card', 'd:later', 'd:note', 'd:roles']);
      for (const field of dataFields) {
        expect(hash[field]).toMatch(SEALED);
        expect(hash[field].slice(0, 8)).toBe(DATA_KEY_ID(TEST_SECRET));
      }
      expectNoPlaintext(JSON.stringify(hash));
      // Every key the store wrote under the prefix, not only the session hash.
      const keys = await client.keys(`${prefix}*`);
      expect(keys.length).toBeGreaterThan(0);
      for (const key of keys) {
        const type = await client.type(key);
        const dump =
          type === 'hash'
            ? JSON.stringify(await client.hgetall(key))
            : type === 'zset'
              ? JSON.stringify(await client.zrange(key, '0', '-1', 'WITHSCORES'))
              : type === 'string'
                ? String(await client.get(key))
                : type;
        expectNoPlaintext(dump);
      }
      // Through the app, the values read back.
      expect(await valueIn(app, alice.cookie, 'card')).toBe(CARD);
      expect(await valueIn(app, alice.cookie, 'later')).toEqual({ text: LATER, n: 42 });
    });

    it('control: without encryptAtRest the raw Redis hash shows the plaintext', async () => {
      const app = await boot({ encryptAtRest: false, store: new RedisStore({ client, prefix }) });
      const alice = await loginWithSecrets(app);
      const hash = await rawHash(alice.id);
      expect(hash['d:card']).toBe(JSON.stringify(CARD));
    });

    it("a sealed value copied into another session's Redis hash reads as undefined", async () => {
      const app = await boot({ store: new RedisStore({ client, prefix }) });
      const a = await loginWithSecrets(app, 'alice');
      const b = await loginWithSecrets(app, 'bob');
      const aHash = await rawHash(a.id);
      await client.hset(`${prefix}{${b.id}}`, 'd:card', aHash['d:card']);
      expect(await valueIn(app, b.cookie, 'card')).toBeNull();
      expect(await valueIn(app, a.cookie, 'card')).toBe(CARD);
    });
  });
});
