import { afterEach, describe, expect, it, jest } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import {
  MemoryRevocationStore,
  MemoryStore,
  SessionOptionsError,
  SessionStore,
} from 'nest-secure-session';
import request from 'supertest';
import { Keyring } from '../lib/crypto/keyring.js';
import {
  createSecurityApp,
  FakeClock,
  OTHER_SECRET,
  TEST_SECRET,
  type SecurityAppOptions,
} from './fixtures/security-app.js';
import { PLATFORMS } from './support/platforms.js';
import {
  cookieFrom,
  expectDefaultClearingCookie,
  sessionSetCookies,
  theSessionSetCookie,
  valueOf,
} from './fixtures/session-helpers.js';

const SEALED = /^[A-Za-z0-9_-]{8}\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$/;
const SEALING_KEY_ID = (secret: string) => new Keyring([secret], 'cookie-sealing').primary.id;
const MARKER = 'PLAINTEXT-MARKER-in-the-cookie';
const MINUTE = 60_000;
const NAME = '__Host-sid';

interface Stateless {
  cookie: string;
  csrfToken: string;
  id: string;
}

async function login(app: INestApplication, userId = 'alice'): Promise<Stateless> {
  const response = await request(app.getHttpServer())
    .post('/login')
    .send({ userId, data: { note: MARKER } });
  expect(response.status).toBe(200);
  return { cookie: cookieFrom(response), ...(response.body as { csrfToken: string; id: string }) };
}

function me(app: INestApplication, cookie: string) {
  return request(app.getHttpServer()).get('/me').set('Cookie', cookie);
}

/** `GET /me` must answer 401 and clear the presented cookie. */
async function expectRefused(app: INestApplication, cookie: string): Promise<void> {
  const response = await me(app, cookie);
  expect(response.status).toBe(401);
  expectDefaultClearingCookie(theSessionSetCookie(response));
}

/** A write; returns the re-issued cookie. */
async function write(
  app: INestApplication,
  session: Stateless,
  key: string,
  value: unknown,
): Promise<string> {
  const response = await request(app.getHttpServer())
    .post('/write')
    .set('Cookie', session.cookie)
    .set('x-csrf-token', session.csrfToken)
    .send({ key, value });
  expect(response.status).toBe(200);
  return cookieFrom(response);
}

describe.each(PLATFORMS)("stateless mode (store: 'cookie') (%s)", (platform) => {
  const apps: INestApplication[] = [];

  async function boot(
    options: SecurityAppOptions = {},
    clock = new FakeClock(),
  ): Promise<{ app: INestApplication; clock: FakeClock }> {
    const booted = await createSecurityApp({ store: 'cookie', ...options }, clock, platform);
    apps.push(booted.app);
    return booted;
  }

  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.close()));
  });

  it('login sets a sealed cookie with the hardened attributes, and no plaintext in it', async () => {
    const { app } = await boot();
    const response = await request(app.getHttpServer())
      .post('/login')
      .send({ userId: 'alice', data: { note: MARKER } });
    expect(response.status).toBe(200);
    const setCookie = theSessionSetCookie(response);
    expect(setCookie).toMatch(/; HttpOnly/);
    expect(setCookie).toMatch(/; Secure/);
    expect(setCookie).toMatch(/; SameSite=Lax/);
    expect(setCookie).toMatch(/; Path=\//);
    const sealed = valueOf(cookieFrom(response));
    expect(sealed).toMatch(SEALED);
    expect(sealed.slice(0, 8)).toBe(SEALING_KEY_ID(TEST_SECRET));
    for (const segment of sealed.split('.')) {
      const decoded = Buffer.from(segment, 'base64url').toString('latin1');
      expect(decoded).not.toContain('PLAINTEXT');
      expect(decoded).not.toContain('alice');
    }
    expect(sealed).not.toContain('alice');
  });

  it('needs nothing server-side for reads: no store writes, and another instance reads the cookie', async () => {
    const { app } = await boot();
    const store = app.get<SessionStore>(SessionStore) as MemoryStore;
    const set = jest.spyOn(store, 'set');
    const update = jest.spyOn(store, 'update');
    const touch = jest.spyOn(store, 'touch');
    const alice = await login(app);
    const read = await me(app, alice.cookie);
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ userId: 'alice', id: alice.id, data: { note: MARKER } });
    const written = await write(app, alice, 'theme', 'dark');
    expect((await me(app, written)).body).toMatchObject({ data: { theme: 'dark' } });
    expect(set).not.toHaveBeenCalled();
    expect(update).not.toHaveBeenCalled();
    expect(touch).not.toHaveBeenCalled();
    expect(store.size).toBe(0);
    // A separate instance (its own, empty revocation store) with the same secret reads it all.
    const { app: other } = await boot();
    const elsewhere = await me(other, written);
    expect(elsewhere.status).toBe(200);
    expect(elsewhere.body).toMatchObject({
      userId: 'alice',
      id: alice.id,
      data: { note: MARKER, theme: 'dark', roles: ['user'] },
    });
  });

  it('round-trips data through the re-issued cookie (set, overwrite, delete, JSON values)', async () => {
    const { app } = await boot();
    const alice = await login(app);
    let cookie = await write(app, alice, 'cart', ['a', 'b', { qty: 2 }]);
    cookie = await write(app, { ...alice, cookie }, 'theme', 'light');
    cookie = await write(app, { ...alice, cookie }, 'theme', 'dark');
    const deletion = await request(app.getHttpServer())
      .delete('/write/note')
      .set('Cookie', cookie)
      .set('x-csrf-token', alice.csrfToken);
    expect(deletion.status).toBe(200);
    cookie = cookieFrom(deletion);
    const read = await me(app, cookie);
    expect(read.status).toBe(200);
    expect((read.body as { data: unknown }).data).toEqual({
      roles: ['user'],
      cart: ['a', 'b', { qty: 2 }],
      theme: 'dark',
    });
    // The id (and with it the CSRF token) stays the same across re-issues.
    expect((read.body as { id: string }).id).toBe(alice.id);
  });

  it('refuses a tampered cookie (every character), and clears it', async () => {
    const { app } = await boot();
    // Hundreds of requests: one listening server rather than one per request.
    await app.listen(0, '127.0.0.1');
    const alice = await login(app);
    const sealed = valueOf(alice.cookie);
    for (let i = 0; i < sealed.length; i++) {
      const tampered = sealed.slice(0, i) + (sealed[i] === 'A' ? 'B' : 'A') + sealed.slice(i + 1);
      const response = await me(app, `${NAME}=${tampered}`);
      expect({ i, status: response.status }).toEqual({ i, status: 401 });
      expectDefaultClearingCookie(theSessionSetCookie(response));
    }
    expect((await me(app, alice.cookie)).status).toBe(200);
  });

  it('refuses a truncated or extended cookie, and clears it', async () => {
    const { app } = await boot();
    const alice = await login(app);
    const sealed = valueOf(alice.cookie);
    const variants = [
      sealed.slice(0, -1),
      sealed.slice(0, -22),
      sealed.slice(1),
      sealed.slice(0, sealed.lastIndexOf('.')),
      sealed.split('.').slice(0, 3).join('.'),
      `${sealed}A`,
      `${sealed}AAAA`,
      `${sealed}.`,
      `${sealed}.${sealed.split('.')[3]}`,
      `A${sealed}`,
      sealed.replace('.', '.A'),
      sealed.replace('.', '..'),
    ];
    for (const variant of variants) {
      await expectRefused(app, `${NAME}=${variant}`);
    }
  });

  it('refuses a cookie sealed for another cookie name, under another secret, or a signed store-mode token', async () => {
    const { app } = await boot();
    const { app: renamed } = await boot({ cookie: { name: '__Host-other' } });
    const other = await request(renamed.getHttpServer()).post('/login').send({ userId: 'alice' });
    const sealedForOtherName = valueOf(cookieFrom(other, '__Host-other'));
    await expectRefused(app, `${NAME}=${sealedForOtherName}`);
    const { app: foreign } = await boot({ secret: OTHER_SECRET });
    const foreignCookie = (await login(foreign)).cookie;
    await expectRefused(app, foreignCookie);
    // Same secret, server-side store: its signed token is no sealed session.
    const { app: stored } = await boot({ store: undefined });
    const storedCookie = (await login(stored)).cookie;
    expect(valueOf(storedCookie)).toMatch(/^[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}$/);
    expect((await me(stored, storedCookie)).status).toBe(200);
    await expectRefused(app, storedCookie);
  });

  it('enforces the idle timeout on open', async () => {
    const { app, clock } = await boot({
      idleTimeout: '10m',
      absoluteTimeout: '1h',
      touchAfter: '1m',
    });
    const alice = await login(app);
    clock.advance(9 * MINUTE);
    const first = await me(app, alice.cookie);
    expect(first.status).toBe(200);
    // Activity re-issues the cookie with a later idle expiry...
    const refreshed = cookieFrom(first);
    clock.advance(9 * MINUTE);
    expect((await me(app, refreshed)).status).toBe(200);
    // ...while the first cookie has passed its own (it says 10 minutes after login).
    await expectRefused(app, alice.cookie);
    clock.advance(10 * MINUTE + 1);
    await expectRefused(app, refreshed);
  });

  it('enforces the absolute timeout on open, however active the session', async () => {
    const { app, clock } = await boot({
      idleTimeout: '10m',
      absoluteTimeout: '1h',
      touchAfter: '1m',
    });
    const alice = await login(app);
    let cookie = alice.cookie;
    for (let elapsed = 9; elapsed < 60; elapsed += 9) {
      clock.advance(9 * MINUTE);
      const response = await me(app, cookie);
      expect(response.status).toBe(200);
      cookie = cookieFrom(response);
    }
    clock.advance(6 * MINUTE + 1);
    await expectRefused(app, cookie);
  });

  it('logout is real: a copied cookie stops working', async () => {
    const { app } = await boot();
    const alice = await login(app);
    const copy = alice.cookie;
    const logout = await request(app.getHttpServer())
      .post('/logout')
      .set('Cookie', alice.cookie)
      .set('x-csrf-token', alice.csrfToken);
    expect(logout.status).toBe(200);
    expectDefaultClearingCookie(theSessionSetCookie(logout));
    await expectRefused(app, copy);
    // The same user can log in again.
    const again = await login(app);
    expect((await me(app, again.cookie)).status).toBe(200);
    await expectRefused(app, copy);
  });

  it('logout is real across instances sharing a revocationStore', async () => {
    const clock = new FakeClock();
    const revocationStore = new MemoryRevocationStore({ now: clock.now });
    const { app: one } = await boot({ revocationStore }, clock);
    const { app: two } = await boot({ revocationStore }, clock);
    const alice = await login(one);
    expect((await me(two, alice.cookie)).status).toBe(200);
    const logout = await request(one.getHttpServer())
      .post('/logout')
      .set('Cookie', alice.cookie)
      .set('x-csrf-token', alice.csrfToken);
    expect(logout.status).toBe(200);
    await expectRefused(two, alice.cookie);
    revocationStore.close();
  });

  it('a login from a presented sealed cookie revokes the old one (fixation)', async () => {
    const { app } = await boot();
    const alice = await login(app);
    const relogin = await request(app.getHttpServer())
      .post('/login')
      .set('Cookie', alice.cookie)
      .set('x-csrf-token', alice.csrfToken)
      .send({ userId: 'alice' });
    expect(relogin.status).toBe(200);
    const fresh = cookieFrom(relogin);
    expect((relogin.body as { id: string }).id).not.toBe(alice.id);
    expect((await me(app, fresh)).status).toBe(200);
    await expectRefused(app, alice.cookie);
  });

  it("revokeAllForUser ends every copy of the user's sessions, and only that user's", async () => {
    const { app, clock } = await boot();
    const laptop = await login(app, 'alice');
    clock.advance(1_000);
    const phone = await login(app, 'alice');
    const bob = await login(app, 'bob');
    clock.advance(1_000);
    const revoke = await request(app.getHttpServer())
      .post('/revoke-all')
      .set('Cookie', phone.cookie)
      .set('x-csrf-token', phone.csrfToken);
    expect(revoke.status).toBe(200);
    expect(revoke.body).toEqual({ revoked: -1 });
    await expectRefused(app, laptop.cookie);
    await expectRefused(app, phone.cookie);
    expect((await me(app, bob.cookie)).status).toBe(200);
    // A later login of the same user is not affected.
    clock.advance(1_000);
    const later = await login(app, 'alice');
    expect((await me(app, later.cookie)).status).toBe(200);
  });

  it('a session too big for a 4096-byte cookie answers 413 with SessionCookieTooLargeError', async () => {
    const { app } = await boot();
    const alice = await login(app);
    const small = await request(app.getHttpServer())
      .post('/blob')
      .set('Cookie', alice.cookie)
      .set('x-csrf-token', alice.csrfToken)
      .send({ size: 1_000 });
    expect(small.status).toBe(200);
    const response = await request(app.getHttpServer())
      .post('/blob')
      .set('Cookie', alice.cookie)
      .set('x-csrf-token', alice.csrfToken)
      .send({ size: 5_000 });
    expect(response.status).toBe(413);
    expect(response.body).toMatchObject({ statusCode: 413, error: 'Session Cookie Too Large' });
    expect((response.body as { message: string }).message).toMatch(
      /^The sealed session cookie would be \d+ bytes, over the 4096-byte limit browsers keep; store less in the session or use a server-side store$/,
    );
    // No cookie was issued and the session is as it was.
    expect(sessionSetCookies(response)).toEqual([]);
    const read = await me(app, alice.cookie);
    expect(read.status).toBe(200);
    expect((read.body as { data: Record<string, unknown> }).data.blob).toBeUndefined();
  });

  it('rotation: a cookie sealed under the old secret is accepted and re-issued under the new key id, and refused once the old secret is removed', async () => {
    const clock = new FakeClock();
    const { app: before } = await boot({ secret: [OTHER_SECRET] }, clock);
    const alice = await login(before);
    expect(valueOf(alice.cookie).slice(0, 8)).toBe(SEALING_KEY_ID(OTHER_SECRET));

    const { app: during } = await boot({ secret: [TEST_SECRET, OTHER_SECRET] }, clock);
    const read = await me(during, alice.cookie);
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ userId: 'alice', id: alice.id, data: { note: MARKER } });
    const reissued = cookieFrom(read);
    expect(valueOf(reissued)).toMatch(SEALED);
    expect(valueOf(reissued).slice(0, 8)).toBe(SEALING_KEY_ID(TEST_SECRET));
    // A cookie already under the new key is not re-issued for that reason alone.
    expect(sessionSetCookies(await me(during, reissued))).toEqual([]);

    const { app: after } = await boot({ secret: [TEST_SECRET] }, clock);
    await expectRefused(after, alice.cookie);
    const still = await me(after, reissued);
    expect(still.status).toBe(200);
    expect(still.body).toMatchObject({ userId: 'alice', data: { note: MARKER } });
  });

  it("refuses to boot with store: 'cookie' and the header transport", async () => {
    let error: unknown;
    try {
      await boot({ transport: ['cookie', 'header'] });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(SessionOptionsError);
    expect((error as Error).message).toMatch(
      /store: 'cookie' keeps the session in the cookie; it cannot use the 'header' transport/,
    );
  });
});
