import { describe, expect, it } from '@jest/globals';
import { generateKeyPairSync } from 'node:crypto';
import { HeadersExchange } from '../core/headers.exchange.js';
import type { SessionExchange } from '../core/session-exchange.js';
import type { SessionRecord } from '../interfaces/session-store.interface.js';
import { resolveSessionOptions } from '../options/resolve-session-options.js';
import { encodeBinding, newBinding } from './device-binding.js';
import { publicJwkOf } from './device-proof.js';
import { DeviceSessions } from './device-sessions.js';
import { challengeIssuedAt } from './device-macs.js';

const SECRET = 'tX9#kQ2!vL7@pR4$wZ8%nB3^mC6&hJ1*';
const options = resolveSessionOptions({ secret: SECRET, deviceBound: { cookieLifetime: '60s' } });
const key = publicJwkOf(
  generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' }),
);

function setup() {
  const clock = { now: Date.UTC(2026, 11, 2, 5) };
  const devices = new DeviceSessions(options, () => clock.now);
  const binding = newBinding(key, clock.now);
  const record: SessionRecord = {
    id: 'session-1',
    userId: 'alice',
    data: {},
    createdAt: clock.now,
    lastSeenAt: clock.now,
    authenticatedAt: clock.now,
    expiresAt: clock.now + 1_800_000,
    absoluteExpiresAt: clock.now + 43_200_000,
    userAgent: null,
    deviceBinding: encodeBinding(binding),
  };
  const cookieOf = (setCookie: string) => setCookie.split(';')[0];
  return { clock, devices, binding, record, cookieOf };
}

/** An exchange that records the headers set on it. */
function recording(headers: Record<string, string> = {}) {
  const set = new Map<string, string>();
  const exchange: SessionExchange = {
    respondable: true,
    header: (name) => headers[name],
    setCookie: () => undefined,
    setHeader: (name, value) => set.set(name, value),
    commitBeforeSend: () => undefined,
  };
  return { exchange, set };
}

describe('DeviceSessions', () => {
  it('admits unbound sessions as they are, and bound ones only with their unexpired bound cookie', () => {
    const { clock, devices, binding, record, cookieOf } = setup();
    const withCookie = (cookie: string) => new HeadersExchange({ cookie });
    expect(devices.admits({ ...record, deviceBinding: null }, withCookie(''))).toBe(true);
    expect(devices.admits({ ...record, deviceBinding: undefined }, withCookie(''))).toBe(true);
    const bound = cookieOf(devices.boundCookie(binding));
    expect(devices.admits(record, withCookie(`__Host-sid=x; ${bound}`))).toBe(true);
    expect(devices.admits(record, withCookie('__Host-sid=x'))).toBe(false);
    expect(devices.admits(record, withCookie(`${bound}; ${bound}`))).toBe(false);
    const other = cookieOf(devices.boundCookie(newBinding(key, clock.now)));
    expect(devices.admits(record, withCookie(other))).toBe(false);
    expect(devices.admits({ ...record, deviceBinding: '{"v":1' }, withCookie(bound))).toBe(false);
    clock.now += 60_000;
    expect(devices.admits(record, withCookie(bound))).toBe(false);
  });

  it("checks a handshake's bound cookie as of the handshake: a socket keeps the session it opened with", () => {
    const { clock, devices, binding, record, cookieOf } = setup();
    const bound = cookieOf(devices.boundCookie(binding));
    const handshake = new HeadersExchange({ cookie: bound }, clock.now);
    clock.now += 3_600_000;
    expect(devices.admits(record, handshake)).toBe(true);
    expect(devices.admits(record, new HeadersExchange({ cookie: bound }))).toBe(false);
    // A copied cookie cannot open a socket after its lifetime.
    expect(devices.admits(record, new HeadersExchange({ cookie: bound }, clock.now))).toBe(false);
  });

  it('offers registration to an authenticated, unbound session only, with a challenge for it', () => {
    const { devices, record } = setup();
    const offered = recording();
    devices.offer({ ...record, deviceBinding: null }, offered.exchange);
    const header = offered.set.get('secure-session-registration')!;
    const challenge = /challenge="([^"]+)"/.exec(header)![1];
    expect(header).toBe(`(ES256);path="/session/dbsc/register";challenge="${challenge}"`);
    expect(
      challengeIssuedAt(options.keys.deviceBinding, challenge, 'register', record.id),
    ).not.toBeNull();
    for (const refused of [record, { ...record, deviceBinding: null, userId: null }]) {
      const quiet = recording();
      devices.offer(refused, quiet.exchange);
      expect(quiet.set.size).toBe(0);
    }
  });

  it('sets and clears the bound cookie with hardened attributes, and names them in the instructions', () => {
    const { devices, binding } = setup();
    expect(devices.boundCookie(binding)).toMatch(
      /^__Host-dbsc=\d+\.[\w-]{43}; Max-Age=60; Path=\/; HttpOnly; Secure; SameSite=Lax$/,
    );
    expect(devices.clearingBoundCookie()).toBe(
      '__Host-dbsc=; Max-Age=0; Path=/; HttpOnly; Secure; SameSite=Lax',
    );
    expect(devices.instructions(binding, undefined)).toEqual({
      session_identifier: binding.id,
      refresh_url: '/session/dbsc/refresh',
      scope: { include_site: false, scope_specification: [] },
      credentials: [
        {
          type: 'cookie',
          name: '__Host-dbsc',
          attributes: 'Path=/; Secure; HttpOnly; SameSite=Lax',
        },
      ],
    });
  });
});
