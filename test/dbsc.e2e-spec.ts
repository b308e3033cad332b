import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { createHmac } from 'node:crypto';
import type { Server } from 'node:https';
import request from 'supertest';
import { createDeviceApp, type DeviceApp } from './fixtures/dbsc-app.js';
import { FakeClock } from './fixtures/test-app.js';
import { DeviceKey, parseChallenge, parseRegistration } from './support/dbsc-client.js';
import { makeCertificate, type TestCertificate } from './support/https.js';
import { PLATFORMS } from './support/platforms.js';

const REGISTER = '/session/dbsc/register';
const REFRESH = '/session/dbsc/refresh';
const LIFETIME_MS = 60_000;
const CHALLENGE_LIFETIME_MS = 120_000;

/** The `name=value` pairs a response set, by cookie name ('' when cleared). */
function setCookies(response: request.Response): Map<string, string> {
  const header = response.headers['set-cookie'] as unknown as string[] | undefined;
  return new Map(
    (header ?? []).map((line) => {
      const [pair] = line.split(';');
      const at = pair.indexOf('=');
      return [pair.slice(0, at), pair.slice(at + 1)];
    }),
  );
}

function setCookieLine(response: request.Response, name: string): string | undefined {
  const header = response.headers['set-cookie'] as unknown as string[] | undefined;
  return header?.find((line) => line.startsWith(`${name}=`));
}

let certificate: TestCertificate;

beforeAll(() => {
  certificate = makeCertificate();
});

describe.each(PLATFORMS)('device-bound sessions over HTTPS (%s)', (platform) => {
  let served: DeviceApp;
  let server: Server;
  const clock = new FakeClock(Date.now());

  beforeAll(async () => {
    served = await createDeviceApp(
      platform,
      certificate,
      { deviceBound: { cookieLifetime: LIFETIME_MS, challengeLifetime: CHALLENGE_LIFETIME_MS } },
      clock.now,
    );
    server = served.app.getHttpServer() as Server;
  });

  afterAll(async () => {
    await served.app.close();
  });

  beforeEach(() => {
    served.events.length = 0;
  });

  const post = (path: string, cookie?: string) => {
    const call = request(server).post(path).ca(certificate.cert);
    return cookie === undefined ? call : call.set('cookie', cookie);
  };
  const get = (path: string, cookie: string) =>
    request(server).get(path).ca(certificate.cert).set('cookie', cookie);

  /** A fresh login: its session cookie and the registration it was offered. */
  async function login() {
    const response = await post('/login').send({ userId: 'alice' });
    expect(response.status).toBe(200);
    const sid = setCookies(response).get('__Host-sid')!;
    return {
      sessionId: response.body.id as string,
      sid: `__Host-sid=${sid}`,
      offer: parseRegistration(response.headers['secure-session-registration'] as string),
    };
  }

  /** A logged-in session bound to a new key: cookies, DBSC identifier, next challenge. */
  async function boundSession() {
    const key = new DeviceKey();
    const { sid, offer, sessionId } = await login();
    const registered = await post(REGISTER, sid).set(
      'secure-session-response',
      key.registration(offer.challenge),
    );
    expect(registered.status).toBe(200);
    const bound = `__Host-dbsc=${setCookies(registered).get('__Host-dbsc')}`;
    const next = parseChallenge(registered.headers['secure-session-challenge'] as string);
    return {
      key,
      sid,
      sessionId,
      bound,
      cookies: `${sid}; ${bound}`,
      identifier: registered.body.session_identifier as string,
      challenge: next.challenge,
      registered,
    };
  }

  const refresh = (cookies: string, identifier: string, proof?: string) => {
    const call = post(REFRESH, cookies).set('sec-secure-session-id', `"${identifier}"`);
    return proof === undefined ? call : call.set('secure-session-response', proof);
  };

  it('offers registration on the login response: ES256 only, the registration path, a challenge', async () => {
    const { offer } = await login();
    expect(offer).toEqual({ algorithms: ['ES256'], path: REGISTER, challenge: expect.any(String) });
    // No offer on an ordinary response.
    const { sid } = await login();
    const me = await get('/me', sid);
    expect(me.status).toBe(200);
    expect(me.headers['secure-session-registration']).toBeUndefined();
  });

  it('registers a key: session instructions, the short-lived bound cookie, the next challenge, an event; no CSRF token needed', async () => {
    const session = await boundSession();
    const { registered, identifier } = session;
    expect(registered.body).toEqual({
      session_identifier: identifier,
      refresh_url: REFRESH,
      scope: { origin: served.url, include_site: false, scope_specification: [] },
      credentials: [
        {
          type: 'cookie',
          name: '__Host-dbsc',
          attributes: 'Path=/; Secure; HttpOnly; SameSite=Lax',
        },
      ],
    });
    expect(setCookieLine(registered, '__Host-dbsc')).toMatch(
      /^__Host-dbsc=\d+\.[\w-]{43}; Max-Age=60; Path=\/; HttpOnly; Secure; SameSite=Lax$/,
    );
    expect(parseChallenge(registered.headers['secure-session-challenge'] as string).id).toBe(
      identifier,
    );
    expect(served.events).toEqual([
      expect.objectContaining({
        type: 'device-bound',
        action: 'registered',
        userId: 'alice',
        sessionId: session.sessionId,
      }),
    ]);
    expect(JSON.stringify(served.events)).not.toContain(session.sid.split('=')[1]);
    expect((await get('/me', session.cookies)).status).toBe(200);
    expect((await get('/bound-only', session.cookies)).status).toBe(200);
  });

  it('a bound session without its bound cookie, or with another session’s, is unusable; the session cookie is kept', async () => {
    const session = await boundSession();
    const other = await boundSession();
    const bare = await get('/me', session.sid);
    expect(bare.status).toBe(401);
    expect(setCookies(bare).has('__Host-sid')).toBe(false);
    expect((await get('/me', `${session.sid}; ${other.bound}`)).status).toBe(401);
    expect(
      (await get('/me', `${session.sid}; __Host-dbsc=9999999999.${'A'.repeat(43)}`)).status,
    ).toBe(401);
    expect((await get('/me', `${session.sid}; __Host-dbsc=garbage`)).status).toBe(401);
    expect((await get('/me', session.cookies)).status).toBe(200);
  });

  it('a copied bound cookie stops working after its lifetime; a refresh with the key renews it', async () => {
    const session = await boundSession();
    clock.advance(LIFETIME_MS - 1000);
    expect((await get('/me', session.cookies)).status).toBe(200);
    clock.advance(1000);
    expect((await get('/me', session.cookies)).status).toBe(401);

    const asked = await refresh(session.sid, session.identifier);
    expect(asked.status).toBe(403);
    const { challenge, id } = parseChallenge(asked.headers['secure-session-challenge'] as string);
    expect(id).toBe(session.identifier);
    const renewed = await refresh(session.sid, session.identifier, session.key.refresh(challenge));
    expect(renewed.status).toBe(200);
    expect(renewed.body.session_identifier).toBe(session.identifier);
    const bound = `__Host-dbsc=${setCookies(renewed).get('__Host-dbsc')}`;
    expect((await get('/me', `${session.sid}; ${bound}`)).status).toBe(200);
    expect(served.events.map((event) => event.type === 'device-bound' && event.action)).toEqual([
      'registered',
      'refreshed',
    ]);

    // The challenge sent ahead saves the 403 round trip next time.
    const ahead = parseChallenge(renewed.headers['secure-session-challenge'] as string).challenge;
    const again = await refresh(session.sid, session.identifier, session.key.refresh(ahead));
    expect(again.status).toBe(200);
  });

  describe('a refresh whose proof fails ends the session', () => {
    interface ProofContext {
      key: DeviceKey;
      challenge: string;
      registrationChallenge: string;
    }
    const failures: Array<[string, (session: ProofContext) => string]> = [
      ['signed by another key', (s) => new DeviceKey().refresh(s.challenge)],
      ['a forged signature', (s) => `${s.key.refresh(s.challenge).slice(0, -10)}AAAAAAAAAA`],
      [
        'a tampered challenge claim',
        (s) => {
          const [header, , signature] = s.key.refresh(s.challenge).split('.');
          const payload = Buffer.from(JSON.stringify({ jti: `${s.challenge}x` })).toString(
            'base64url',
          );
          return `${header}.${payload}.${signature}`;
        },
      ],
      [
        'alg none',
        (s) => {
          const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'dbsc+jwt' })).toString(
            'base64url',
          );
          const payload = Buffer.from(JSON.stringify({ jti: s.challenge })).toString('base64url');
          return `${header}.${payload}.`;
        },
      ],
      [
        'HS256 keyed with the public key',
        (s) => {
          const header = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'dbsc+jwt' })).toString(
            'base64url',
          );
          const payload = Buffer.from(JSON.stringify({ jti: s.challenge })).toString('base64url');
          const mac = createHmac('sha256', JSON.stringify(s.key.publicJwk))
            .update(`${header}.${payload}`)
            .digest('base64url');
          return `${header}.${payload}.${mac}`;
        },
      ],
      ['RS256 claimed over an EC signature', (s) => s.key.refresh(s.challenge, { alg: 'RS256' })],
      ['a wrong typ', (s) => s.key.refresh(s.challenge, { typ: 'JWT' })],
      [
        'a challenge of another purpose (the registration one)',
        (s) => s.key.refresh(s.registrationChallenge),
      ],
      [
        'a challenge this server never issued',
        (s) =>
          s.key.refresh(
            'mx5nhrfu.Skvh2AX4tXTTIjYH8NPVSg.o45vD-hXC8TxgidQjR6VolUEZb8E4z9fAYeYMOYPE68',
          ),
      ],
      ['a malformed proof', () => 'not-a-jwt'],
    ];

    it.each(failures)('%s', async (_name, makeProof) => {
      const key = new DeviceKey();
      const { sid, offer, sessionId } = await login();
      const registered = await post(REGISTER, sid).set(
        'secure-session-response',
        key.registration(offer.challenge),
      );
      const session = {
        key,
        sid,
        challenge: parseChallenge(registered.headers['secure-session-challenge'] as string)
          .challenge,
        registrationChallenge: offer.challenge,
      };
      const identifier = registered.body.session_identifier as string;
      const bound = `__Host-dbsc=${setCookies(registered).get('__Host-dbsc')}`;
      served.events.length = 0;
      const refused = await refresh(sid, identifier, makeProof(session));
      expect(refused.status).toBe(403);
      expect(setCookies(refused).get('__Host-sid')).toBe('');
      expect(setCookies(refused).get('__Host-dbsc')).toBe('');
      expect(served.events).toEqual([
        expect.objectContaining({
          type: 'revoked',
          reason: 'device-proof-failed',
          userId: 'alice',
          sessionIds: [sessionId],
          count: 1,
        }),
      ]);
      // Gone for good: even with a bound cookie that has not expired.
      expect((await get('/me', `${sid}; ${bound}`)).status).toBe(401);
    });

    it('a replayed proof (its challenge used already)', async () => {
      const session = await boundSession();
      const proof = session.key.refresh(session.challenge);
      expect((await refresh(session.sid, session.identifier, proof)).status).toBe(200);
      served.events.length = 0;
      const replayed = await refresh(session.sid, session.identifier, proof);
      expect(replayed.status).toBe(403);
      expect(served.events).toEqual([
        expect.objectContaining({ type: 'revoked', reason: 'device-proof-failed' }),
      ]);
      expect((await get('/me', session.cookies)).status).toBe(401);
    });

    it('a proof over a challenge older than the last one used', async () => {
      const session = await boundSession();
      const older = parseChallenge(
        (await refresh(session.sid, session.identifier)).headers[
          'secure-session-challenge'
        ] as string,
      ).challenge;
      clock.advance(5);
      const newer = parseChallenge(
        (await refresh(session.sid, session.identifier)).headers[
          'secure-session-challenge'
        ] as string,
      ).challenge;
      expect(
        (await refresh(session.sid, session.identifier, session.key.refresh(newer))).status,
      ).toBe(200);
      expect(
        (await refresh(session.sid, session.identifier, session.key.refresh(older))).status,
      ).toBe(403);
      expect((await get('/me', session.cookies)).status).toBe(401);
    });
  });

  it('the device’s own proof over an expired challenge gets a new challenge, not an end', async () => {
    const session = await boundSession();
    clock.advance(CHALLENGE_LIFETIME_MS + 10);
    const stale = await refresh(
      session.sid,
      session.identifier,
      session.key.refresh(session.challenge),
    );
    expect(stale.status).toBe(403);
    const { challenge } = parseChallenge(stale.headers['secure-session-challenge'] as string);
    expect(served.events.some((event) => event.type === 'revoked')).toBe(false);
    expect(
      (await refresh(session.sid, session.identifier, session.key.refresh(challenge))).status,
    ).toBe(200);
  });

  it('registration refuses bad proofs (4xx), replays and a second key, and binds nothing', async () => {
    const key = new DeviceKey();
    const { sid, offer } = await login();
    const other = await login();
    const cases: Array<[string | undefined, number]> = [
      [undefined, 400],
      ['', 400],
      ['a.b', 400],
      ['!!!.???.***', 400],
      [key.registration(offer.challenge).replace(/\.[^.]+$/, '.AAAA'), 403],
      [
        new DeviceKey().sign(
          { alg: 'ES256', typ: 'dbsc+jwt', jwk: key.publicJwk },
          { jti: offer.challenge },
        ),
        403,
      ],
      [key.refresh(offer.challenge), 403],
      [key.registration(offer.challenge, { alg: 'ES384' }), 403],
      [key.registration(offer.challenge, { jwk: { ...key.publicJwk, d: 'AAAA' } }), 403],
      [key.registration(offer.challenge, { jwk: { kty: 'RSA', n: 'AQAB', e: 'AQAB' } }), 403],
      [key.registration(offer.challenge, { jwk: { ...key.publicJwk, y: key.publicJwk.x } }), 403],
      [key.registration(other.offer.challenge), 403],
      [key.registration('x'.repeat(5000)), 400],
    ];
    for (const [proof, status] of cases) {
      const call = post(REGISTER, sid);
      const response = await (proof === undefined
        ? call
        : call.set('secure-session-response', proof));
      expect([proof?.slice(0, 20), response.status]).toEqual([proof?.slice(0, 20), status]);
      expect(response.headers['set-cookie']).toBeUndefined();
    }
    expect(served.events).toEqual([]);
    expect((await get('/me', sid)).status).toBe(200);
    // Without a session, or with an anonymous one: 401.
    expect(
      (await post(REGISTER).set('secure-session-response', key.registration(offer.challenge)))
        .status,
    ).toBe(401);
    // Once: a replay of the registration, or another key, finds the session bound already.
    const proof = key.registration(offer.challenge);
    expect((await post(REGISTER, sid).set('secure-session-response', proof)).status).toBe(200);
    expect((await post(REGISTER, sid).set('secure-session-response', proof)).status).toBe(409);
    expect(
      (
        await post(REGISTER, sid).set(
          'secure-session-response',
          new DeviceKey().registration(offer.challenge),
        )
      ).status,
    ).toBe(409);
    clock.advance(CHALLENGE_LIFETIME_MS + 10);
    expect(
      (
        await post(REGISTER, other.sid).set(
          'secure-session-response',
          key.registration(other.offer.challenge),
        )
      ).status,
    ).toBe(403);
  });

  it('keeps the origin checks: cross-site or foreign-origin calls are refused', async () => {
    const session = await boundSession();
    const evil = await post(REFRESH, session.sid)
      .set('sec-secure-session-id', `"${session.identifier}"`)
      .set('origin', 'https://evil.example');
    expect(evil.status).toBe(403);
    const crossSite = await post(REGISTER, session.sid).set('sec-fetch-site', 'cross-site');
    expect(crossSite.status).toBe(403);
    expect((await get('/me', session.cookies)).status).toBe(200);
  });

  it('refresh input that is not a bound session: 400 for a bad identifier, else the browser is told to stop', async () => {
    const session = await boundSession();
    expect((await post(REFRESH, session.sid)).status).toBe(400);
    expect(
      (await post(REFRESH, session.sid).set('sec-secure-session-id', '"bad id!"')).status,
    ).toBe(400);
    expect(
      (await post(REFRESH, session.sid).set('sec-secure-session-id', '"unterminated')).status,
    ).toBe(400);
    for (const [cookie, identifier] of [
      [session.sid, 'AAAAAAAAAAAAAAAAAAAAAA'],
      [undefined, session.identifier],
      ['__Host-sid=forged', session.identifier],
    ] as const) {
      const response = await refresh(cookie ?? '', identifier);
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ session_identifier: identifier, continue: false });
    }
    // A bare (unquoted) identifier is read too.
    const bare = await post(REFRESH, session.sid).set('sec-secure-session-id', session.identifier);
    expect(bare.status).toBe(403);
    expect(served.events.some((event) => event.type === 'revoked')).toBe(false);
    // After logout the browser's DBSC session is told to stop.
    const { csrfToken } = (await get('/csrf', session.cookies)).body as { csrfToken: string };
    expect((await post('/logout', session.cookies).set('x-csrf-token', csrfToken)).status).toBe(
      200,
    );
    expect((await refresh(session.sid, session.identifier)).body).toEqual({
      session_identifier: session.identifier,
      continue: false,
    });
  });

  it("policy 'allow': a client without DBSC keeps working unbound; @DeviceBound('require') refuses it", async () => {
    const { sid } = await login();
    expect((await get('/me', sid)).status).toBe(200);
    const refused = await get('/bound-only', sid);
    expect(refused.status).toBe(401);
    expect(refused.body.message).toMatch(/device-bound/);
  });
});

describe.each(PLATFORMS)("deviceBound.policy: 'require' (%s)", (platform) => {
  let served: DeviceApp;

  beforeAll(async () => {
    served = await createDeviceApp(platform, certificate, { deviceBound: { policy: 'require' } });
  });

  afterAll(async () => {
    await served.app.close();
  });

  it('refuses sessions that never bound a key on every protected route, and serves bound ones', async () => {
    const server = served.app.getHttpServer() as Server;
    const login = await request(server).post('/login').ca(certificate.cert);
    const sid = `__Host-sid=${setCookies(login).get('__Host-sid')}`;
    expect((await request(server).get('/me').ca(certificate.cert).set('cookie', sid)).status).toBe(
      401,
    );
    const offer = parseRegistration(login.headers['secure-session-registration'] as string);
    const registered = await request(server)
      .post(REGISTER)
      .ca(certificate.cert)
      .set('cookie', sid)
      .set('secure-session-response', new DeviceKey().registration(offer.challenge));
    const cookies = `${sid}; __Host-dbsc=${setCookies(registered).get('__Host-dbsc')}`;
    expect(
      (await request(server).get('/me').ca(certificate.cert).set('cookie', cookies)).status,
    ).toBe(200);
  });
});
