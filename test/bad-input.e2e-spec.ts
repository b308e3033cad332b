import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import fc from 'fast-check';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import request from 'supertest';
import { createTestApp, type FakeClock } from './fixtures/test-app.js';
import {
  cookieFrom,
  COOKIE_NAME,
  expectDefaultClearingCookie,
  login,
  NO_STORE_IO,
  parseSetCookieHeader,
  sessionSetCookies,
  spyOnStore,
  theSessionSetCookie,
  valueOf,
} from './fixtures/session-helpers.js';
import { PLATFORMS } from './support/platforms.js';

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** A string whose latin1 bytes are the UTF-8 encoding of `text`: how raw UTF-8 travels in a header. */
function utf8Bytes(text: string): string {
  return Buffer.from(text, 'utf8').toString('latin1');
}

/** Sends raw bytes as one HTTP request and resolves to the status code and raw response. */
function rawRequest(port: number, head: Buffer): Promise<{ status: number; raw: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const raw = Buffer.concat(chunks).toString('latin1');
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1] ?? 0), raw });
    });
    socket.end(head);
  });
}

describe.each(PLATFORMS)('bad input (%s)', (platform) => {
  let app: INestApplication;
  let clock: FakeClock;
  let store: ReturnType<typeof spyOnStore>;
  let valid: string;
  let validValue: string;
  let port: number;

  beforeAll(async () => {
    ({ app, clock } = await createTestApp({ maxDataSize: 1024 }, undefined, platform));
    await app.listen(0, '127.0.0.1');
    port = (app.getHttpServer().address() as AddressInfo).port;
    store = spyOnStore(app);
    ({ cookie: valid } = await login(app, 'victim'));
    validValue = valueOf(valid);
  });
  afterAll(async () => {
    store.restore();
    await app.close();
  });
  beforeEach(() => store.reset());

  /** Asserts a refused session cookie: 401, cleared cookie, no store I/O, JSON error. */
  async function expectRefused(cookieHeader: string): Promise<void> {
    store.reset();
    const response = await request(app.getHttpServer()).get('/me').set('Cookie', cookieHeader);
    expect(response.status).toBe(401);
    expect(response.body).toMatchObject({ statusCode: 401, error: 'Unauthorized' });
    expectDefaultClearingCookie(theSessionSetCookie(response));
    expect(response.headers['cache-control']).toBe('private, no-store');
    expect(store.calls()).toEqual(NO_STORE_IO);
  }

  describe('malformed session cookies are no session, cleared, with no store I/O and never a 5xx', () => {
    const cases: Array<[string, () => string]> = [
      ['empty value', () => `${COOKIE_NAME}=`],
      ['plain garbage', () => `${COOKIE_NAME}=garbage`],
      ['truncated by one character', () => `${COOKIE_NAME}=${validValue.slice(0, -1)}`],
      ['missing its first character', () => `${COOKIE_NAME}=${validValue.slice(1)}`],
      ['token without signature', () => `${COOKIE_NAME}=${validValue.split('.')[0]}`],
      ['token and a dot', () => `${COOKIE_NAME}=${validValue.split('.')[0]}.`],
      ['signature alone', () => `${COOKIE_NAME}=${validValue.split('.')[1]}`],
      ['one character too long', () => `${COOKIE_NAME}=${validValue}A`],
      [
        'a second signature appended',
        () => `${COOKIE_NAME}=${validValue}.${validValue.split('.')[1]}`,
      ],
      [
        'swapped token and signature',
        () => `${COOKIE_NAME}=${validValue.split('.').reverse().join('.')}`,
      ],
      ['oversized value (> 4096 bytes)', () => `${COOKIE_NAME}=${'A'.repeat(5000)}`],
      ['oversized valid-looking value', () => `${COOKIE_NAME}=${validValue}${'A'.repeat(4100)}`],
      ['non-base64 characters', () => `${COOKIE_NAME}=${'!'.repeat(43)}.${'*'.repeat(43)}`],
      [
        'standard base64 with + / and = padding',
        () => {
          const [token, signature] = validValue.split('.');
          const std = (part: string) => Buffer.from(part, 'base64url').toString('base64');
          return `${COOKIE_NAME}=${std(token)}.${std(signature)}`;
        },
      ],
      [
        'unicode (raw UTF-8 bytes)',
        () => `${COOKIE_NAME}=${utf8Bytes(`${validValue.slice(0, 40)}é${validValue.slice(41)}`)}`,
      ],
      ['emoji (raw UTF-8 bytes)', () => `${COOKIE_NAME}=${utf8Bytes('🍪'.repeat(22))}`],
      ['percent-encoded unicode', () => `${COOKIE_NAME}=${encodeURIComponent('é'.repeat(30))}`],
      ['broken percent-encoding', () => `${COOKIE_NAME}=%E0%A4%A${validValue.slice(9)}`],
      [
        'a tab inside the value',
        () => `${COOKIE_NAME}=${validValue.slice(0, 20)}\t${validValue.slice(21)}`,
      ],
      ['latin-1 bytes', () => `${COOKIE_NAME}=${'\u00ff'.repeat(87)}`],
      ['duplicated: two garbage values', () => `${COOKIE_NAME}=a; ${COOKIE_NAME}=b`],
      ['duplicated: the same valid value twice', () => `${valid}; ${valid}`],
      ['duplicated: valid then planted', () => `${valid}; ${COOKIE_NAME}=planted`],
      ['duplicated: planted then valid', () => `${COOKIE_NAME}=planted; ${valid}`],
      ['duplicated without a space', () => `${valid};${COOKIE_NAME}=${validValue}`],
      ['duplicated with spaces before =', () => `${valid}; ${COOKIE_NAME} =x`],
    ];

    it.each(cases)('%s → 401 on a protected route', async (_label, header) => {
      await expectRefused(header());
    });

    it.each(cases)(
      '%s → anonymous on a public route that reads the session',
      async (_label, header) => {
        const response = await request(app.getHttpServer())
          .get('/anon/peek')
          .set('Cookie', header());
        expect(response.status).toBe(200);
        expect(response.body).toEqual({ userId: null, theme: null });
        expectDefaultClearingCookie(theSessionSetCookie(response));
        expect(store.calls()).toEqual(NO_STORE_IO);
      },
    );

    it('a bad cookie on a public route that writes gets a fresh session, not the bad one', async () => {
      const response = await request(app.getHttpServer())
        .post('/anon/theme')
        .set('Cookie', `${COOKIE_NAME}=a; ${COOKIE_NAME}=b`)
        .send({ theme: 'dark' });
      expect(response.status).toBe(200);
      expect(store.calls()).toEqual({ ...NO_STORE_IO, set: 1 });
      const fresh = parseSetCookieHeader(theSessionSetCookie(response));
      expect(fresh.value).toMatch(/^[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}$/);
    });

    it('the valid session survives all of the above', async () => {
      await request(app.getHttpServer()).get('/me').set('Cookie', valid).expect(200);
    });

    it('other cookies, and names that merely contain the session name, are not the session', async () => {
      for (const header of ['theme=dark', `x${COOKIE_NAME}=${validValue}`, `${COOKIE_NAME}x=1`]) {
        const response = await request(app.getHttpServer()).get('/me').set('Cookie', header);
        expect(response.status).toBe(401);
        expect(sessionSetCookies(response)).toEqual([]);
      }
      expect(store.calls()).toEqual(NO_STORE_IO);
    });

    it('a valid session cookie among large unrelated cookies still authenticates', async () => {
      // Browsers cap each cookie at 4096 bytes, not the whole Cookie header: a site with many
      // cookies (analytics, consent, A/B tests) routinely sends a header longer than 4 KiB.
      const others = Array.from({ length: 4 }, (_, i) => `pref${i}=${'v'.repeat(1200)}`).join('; ');
      const response = await request(app.getHttpServer())
        .get('/me')
        .set('Cookie', `${others}; ${valid}`);
      expect(response.status).toBe(200);
      expect(sessionSetCookies(response)).toEqual([]);
    });
  });

  describe('control characters and raw bytes over a raw socket', () => {
    const raws: Array<[string, string]> = [
      ['NUL', '\x00'],
      ['SOH', '\x01'],
      ['ESC', '\x1b'],
      ['DEL', '\x7f'],
      ['vertical tab', '\x0b'],
      ['form feed', '\x0c'],
      ['bare CR', '\r'],
    ];

    it.each(raws)('%s in the session cookie: never a 5xx, no store I/O', async (_label, char) => {
      const head = Buffer.from(
        `GET /me HTTP/1.1\r\nHost: localhost\r\nCookie: ${COOKIE_NAME}=${validValue.slice(0, 30)}${char}${validValue.slice(31)}\r\nConnection: close\r\n\r\n`,
        'latin1',
      );
      const { status, raw } = await rawRequest(port, head);
      // Node's parser may refuse the request itself (400); if it reaches the app, it is 401.
      expect([400, 401]).toContain(status);
      if (status === 401) {
        expect(raw).toMatch(/set-cookie: __Host-sid=; Max-Age=0/i);
      }
      expect(store.calls()).toEqual(NO_STORE_IO);
    });

    it('raw UTF-8 in the cookie reaches the app and is refused', async () => {
      const head = Buffer.concat([
        Buffer.from(`GET /me HTTP/1.1\r\nHost: localhost\r\nCookie: ${COOKIE_NAME}=`, 'latin1'),
        Buffer.from(`${validValue.slice(0, 43)}.ü${validValue.slice(45)}`, 'utf8'),
        Buffer.from('\r\nConnection: close\r\n\r\n', 'latin1'),
      ]);
      const { status, raw } = await rawRequest(port, head);
      expect(status).toBe(401);
      expect(raw).toMatch(/set-cookie: __Host-sid=; Max-Age=0/i);
      expect(store.calls()).toEqual(NO_STORE_IO);
    });
  });

  describe('forged and altered tokens never authenticate', () => {
    it('changing any single character of a valid signed cookie → 401, no store read', async () => {
      for (let index = 0; index < validValue.length; index++) {
        const original = validValue[index];
        const replacement =
          original === '.' ? 'A' : BASE64URL[(BASE64URL.indexOf(original) + 1) % BASE64URL.length];
        const altered = `${validValue.slice(0, index)}${replacement}${validValue.slice(index + 1)}`;
        await expectRefused(`${COOKIE_NAME}=${altered}`);
      }
    });

    /** Characters Node's HTTP client lets through in a header value. */
    const headerChar = fc.oneof(
      fc.constantFrom('\t'),
      fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)),
      fc.integer({ min: 0x80, max: 0xff }).map((code) => String.fromCharCode(code)),
    );

    it('property: any replacement, insertion or deletion in a valid cookie → 401, cleared, no store I/O', async () => {
      const mutation = fc.oneof(
        fc.record({
          kind: fc.constant('replace' as const),
          index: fc.nat({ max: 86 }),
          char: headerChar,
        }),
        fc.record({
          kind: fc.constant('insert' as const),
          index: fc.integer({ min: 1, max: 86 }),
          char: headerChar,
        }),
        fc.record({
          kind: fc.constant('delete' as const),
          index: fc.nat({ max: 86 }),
          char: fc.constant(''),
        }),
      );
      await fc.assert(
        fc.asyncProperty(mutation, async ({ kind, index, char }) => {
          fc.pre(kind !== 'replace' || char !== validValue[index]);
          const tail = validValue.slice(kind === 'insert' ? index : index + 1);
          const altered = `${validValue.slice(0, index)}${char}${tail}`;
          store.reset();
          const response = await request(app.getHttpServer())
            .get('/me')
            .set('Cookie', `${COOKIE_NAME}=${altered}`);
          expect(response.status).toBe(401);
          expect(store.spies.get).not.toHaveBeenCalled();
          expect(store.spies.set).not.toHaveBeenCalled();
        }),
        { numRuns: 150 },
      );
    });

    it('property: arbitrary cookie values never authenticate and never cause a 5xx', async () => {
      await fc.assert(
        fc.asyncProperty(fc.string({ unit: headerChar, maxLength: 200 }), async (value) => {
          store.reset();
          const response = await request(app.getHttpServer())
            .get('/me')
            .set('Cookie', `${COOKIE_NAME}=${value}`);
          expect(response.status).toBe(401);
          expect(store.calls()).toEqual(NO_STORE_IO);
        }),
        { numRuns: 150 },
      );
    });

    it('property: arbitrary whole Cookie headers never cause a 5xx', async () => {
      const header = fc.array(
        fc.oneof(
          fc.constant(valid),
          fc.constant(`${COOKIE_NAME}=`),
          fc.string({ unit: headerChar, maxLength: 40 }),
          fc
            .tuple(
              fc.string({ unit: headerChar, maxLength: 12 }),
              fc.string({ unit: headerChar, maxLength: 40 }),
            )
            .map(([name, value]) => `${name}=${value}`),
        ),
        { minLength: 1, maxLength: 6 },
      );
      await fc.assert(
        fc.asyncProperty(header, async (parts) => {
          const response = await request(app.getHttpServer())
            .get('/anon/peek')
            .set('Cookie', parts.join('; '));
          expect(response.status).toBeLessThan(500);
        }),
        { numRuns: 100 },
      );
    });
  });

  describe('prototype pollution and reserved fields', () => {
    afterAll(() => {
      expect(Object.prototype).not.toHaveProperty('polluted');
    });

    it.each(['__proto__', 'constructor', 'prototype'])('set() refuses the key %s', async (key) => {
      const response = await request(app.getHttpServer())
        .post('/anon/set')
        .send({ key, value: { polluted: true } });
      expect(response.status).toBe(400);
      expect(response.body.message).toContain(key);
      expect(store.calls()).toEqual(NO_STORE_IO);
      expect(sessionSetCookies(response)).toEqual([]);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });

    it('values holding __proto__ / constructor.prototype keys are stored and read back without pollution', async () => {
      const body =
        '{"key":"cart","value":{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},"items":["a"]}}';
      const write = await request(app.getHttpServer())
        .post('/anon/set')
        .set('Content-Type', 'application/json')
        .send(body);
      if (platform === 'fastify') {
        // Fastify's JSON parser refuses such a body itself (its own 400): the session never
        // sees the keys, nothing is stored, no cookie is set, nothing is polluted.
        expect(write.status).toBe(400);
        expect(store.calls()).toEqual(NO_STORE_IO);
        expect(sessionSetCookies(write)).toEqual([]);
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
        return;
      }
      expect(write.status).toBe(200);

      const read = await request(app.getHttpServer())
        .get('/anon/probe')
        .set('Cookie', cookieFrom(write));
      expect(read.status).toBe(200);
      expect(read.body).toMatchObject({
        prototypeIntact: true,
        polluted: null,
        cart: { items: ['a'] },
      });
      expect(Object.keys(read.body.cart as object)).toEqual(['items']);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });

    it('stored data with __proto__ / constructor keys (a tampered store) does not pollute anything', async () => {
      const write = await request(app.getHttpServer())
        .post('/anon/set')
        .send({ key: 'cart', value: ['a'] });
      const cookie = cookieFrom(write);
      const id = (store.spies.set.mock.calls[0][0] as { id: string }).id;

      // Tamper with the stored record directly, as a compromised or buggy store could.
      const record = await store.store.get(id);
      expect(record).not.toBeNull();
      if (record === null) {
        return;
      }
      record.data = JSON.parse(
        '{"__proto__":"{\\"polluted\\":true}","constructor":"{\\"prototype\\":{\\"polluted\\":true}}","cart":"{\\"__proto__\\":{\\"polluted\\":true},\\"constructor\\":{\\"prototype\\":{\\"polluted\\":true}}}"}',
      ) as Record<string, string>;
      expect(Object.hasOwn(record.data, '__proto__')).toBe(true);
      await store.store.set(record, 60_000);

      const read = await request(app.getHttpServer()).get('/anon/probe').set('Cookie', cookie);
      expect(read.status).toBe(200);
      expect(read.body.userId).toBeNull();
      expect(read.body.polluted).toBeNull();
      expect(read.body.prototypeIntact).toBe(true);
      expect(read.body.cart).toEqual({});
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(Object.prototype).not.toHaveProperty('polluted');
    });

    it('data keys named like record fields cannot log a visitor in or extend the session', async () => {
      let cookie = '';
      for (const [key, value] of [
        ['userId', 'admin'],
        ['authenticatedAt', clock.current],
        ['expiresAt', Number.MAX_SAFE_INTEGER],
        ['absoluteExpiresAt', Number.MAX_SAFE_INTEGER],
        ['id', 'someone-else'],
      ] as const) {
        const call = request(app.getHttpServer()).post('/anon/set');
        const response = await (cookie === '' ? call : call.set('Cookie', cookie)).send({
          key,
          value,
        });
        expect(response.status).toBe(200);
        cookie ||= cookieFrom(response);
      }

      const probe = await request(app.getHttpServer()).get('/anon/probe').set('Cookie', cookie);
      expect(probe.body.userId).toBeNull();
      await request(app.getHttpServer()).get('/me').set('Cookie', cookie).expect(401);

      clock.advance(30 * 60_000);
      const later = await request(app.getHttpServer()).get('/anon/probe').set('Cookie', cookie);
      expect(later.body).toMatchObject({ userId: null, keys: [] });
      expect(sessionSetCookies(later)).toHaveLength(1);
    });
  });

  describe('data over maxDataSize', () => {
    it('fails the save with 413 and a clear error; the stored session is intact', async () => {
      const { cookie, id } = await login(app, 'big-data');
      await request(app.getHttpServer()).post('/counter').set('Cookie', cookie).expect(200);
      const before = await store.store.get(id);
      store.reset();

      const response = await request(app.getHttpServer())
        .post('/blob')
        .set('Cookie', cookie)
        .send({ size: 2000 });

      expect(response.status).toBe(413);
      expect(response.body).toMatchObject({ statusCode: 413, error: 'Session Data Too Large' });
      expect(response.body.message).toContain('maxDataSize');
      expect(response.body.message).toContain('1024');
      expect(store.spies.update).not.toHaveBeenCalled();
      expect(store.spies.set).not.toHaveBeenCalled();
      expect(await store.store.get(id)).toEqual(before);

      const me = await request(app.getHttpServer()).get('/me').set('Cookie', cookie);
      expect(me.status).toBe(200);
      expect(me.body.data).toEqual({ roles: ['user'], counter: 1 });

      // The session still takes writes within the limit.
      await request(app.getHttpServer())
        .post('/blob')
        .set('Cookie', cookie)
        .send({ size: 100 })
        .expect(200);
      const after = await request(app.getHttpServer()).get('/me').set('Cookie', cookie);
      expect(after.body.data).toMatchObject({ counter: 1, blob: 'x'.repeat(100) });
    });

    it('an anonymous write over the limit stores nothing and sets no cookie', async () => {
      const response = await request(app.getHttpServer())
        .post('/anon/set')
        .send({ key: 'blob', value: 'y'.repeat(5000) });
      expect(response.status).toBe(413);
      expect(store.calls()).toEqual(NO_STORE_IO);
      expect(sessionSetCookies(response)).toEqual([]);
    });
  });
});
