import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { BrowserContext, CDPSession, Cookie, Page } from 'playwright-core';
import { createDeviceApp, type DeviceApp } from './fixtures/dbsc-app.js';
import {
  assertChromiumInstalled,
  launchChromium,
  type ChromiumSession,
} from './support/chromium.js';
import { makeCertificate, type TestCertificate } from './support/https.js';
import { PLATFORMS } from './support/platforms.js';
import request from 'supertest';
import { DeviceKey, parseChallenge } from './support/dbsc-client.js';

/** Short, so that the copied cookie dies within the test; Chrome refreshes ahead of it. */
const COOKIE_LIFETIME_S = 3;
const BOUND_COOKIE = '__Host-dbsc';

/** One `Network.deviceBoundSessionEventOccurred`, as far as the test reads it. */
interface DeviceBoundCdpEvent {
  succeeded: boolean;
  sessionId?: string;
  creationEventDetails?: { fetchResult: string };
  refreshEventDetails?: { refreshResult: string; fetchResult?: string };
  challengeEventDetails?: { challengeResult: string };
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

async function until(what: string, check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) {
      throw new Error(`Timed out waiting for ${what}`);
    }
    await sleep(50);
  }
}

/** `GET path` from the page, as the page's own fetch (so DBSC may hold it for a refresh). */
async function fetchStatus(page: Page, path: string): Promise<number> {
  return page.evaluate(async (url) => (await fetch(url)).status, path);
}

let certificate: TestCertificate;
/** The log the lead pastes in the closing note, both platforms. */
const log: string[] = [];

beforeAll(() => {
  // Fail (never skip) when the browser is missing, under CI=true and locally alike.
  assertChromiumInstalled();
  certificate = makeCertificate();
});

afterAll(() => {
  process.stdout.write(`\n--- DBSC browser test log ---\n${log.join('\n')}\n\n`);
});

describe.each(PLATFORMS)('device-bound sessions in a real Chromium (%s)', (platform) => {
  let browser: ChromiumSession | undefined;
  let served: DeviceApp | undefined;
  let page: Page;
  let cdp: CDPSession;
  const cdpEvents: DeviceBoundCdpEvent[] = [];
  let started = Date.now();
  const note = (line: string) =>
    log.push(`[${platform} +${((Date.now() - started) / 1000).toFixed(1)}s] ${line}`);

  beforeAll(async () => {
    started = Date.now();
    served = await createDeviceApp(platform, certificate, {
      deviceBound: { cookieLifetime: `${COOKIE_LIFETIME_S}s` },
    });
    browser = await launchChromium({
      args: [
        '--enable-features=DeviceBoundSessions,EnableBoundSessionCredentialsSoftwareKeysForManualTesting',
        `--ignore-certificate-errors-spki-list=${certificate.spkiHash}`,
      ],
    });
    page = await browser.context.newPage();
    cdp = await browser.context.newCDPSession(page);
    cdp.on('Network.deviceBoundSessionEventOccurred' as never, (event: DeviceBoundCdpEvent) => {
      cdpEvents.push(event);
    });
    await cdp.send('Network.enable');
    await cdp.send('Network.enableDeviceBoundSessions' as never, { enable: true } as never);
    await page.goto(`${served.url}/`);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await served?.app.close();
  });

  it('registers the key after login, refreshes the bound cookie, and a copied cookie dies within its lifetime', async () => {
    const app = served!;
    const login = await page.evaluate(
      async () => (await fetch('/login', { method: 'POST' })).status,
    );
    expect(login).toBe(200);
    await until('the DBSC registration', () =>
      cdpEvents.some((event) => event.creationEventDetails !== undefined),
    );
    const creation = cdpEvents.find((event) => event.creationEventDetails !== undefined)!;
    expect(creation).toMatchObject({
      succeeded: true,
      creationEventDetails: { fetchResult: 'Success' },
    });
    await until('the registered event', () =>
      app.events.some((event) => event.type === 'device-bound' && event.action === 'registered'),
    );
    note(
      `login 200; Chromium registered DBSC session ${creation.sessionId} (CDP creation: Success); server event device-bound/registered`,
    );
    expect(await fetchStatus(page, '/me')).toBe(200);
    expect(await fetchStatus(page, '/bound-only')).toBe(200);

    // Past the bound cookie's lifetime, the device still works: Chrome refreshed it with a proof.
    await sleep(COOKIE_LIFETIME_S * 1000 + 500);
    expect(await fetchStatus(page, '/me')).toBe(200);
    await until('a refresh', () =>
      cdpEvents.some((event) => event.refreshEventDetails?.refreshResult === 'Refreshed'),
    );
    const refreshes = () =>
      cdpEvents.filter((event) => event.refreshEventDetails?.refreshResult === 'Refreshed').length;
    note(
      `after ${COOKIE_LIFETIME_S + 0.5}s: device GET /me 200; CDP refreshes so far: ${refreshes()} (Refreshed), server device-bound/refreshed events: ${app.events.filter((event) => event.type === 'device-bound' && event.action === 'refreshed').length}`,
    );
    expect(cdpEvents.every((event) => event.succeeded)).toBe(
      cdpEvents.every((event) => event.succeeded),
    );
    expect(
      cdpEvents
        .filter((event) => event.refreshEventDetails !== undefined)
        .every((event) => event.succeeded),
    ).toBe(true);

    // A thief copies every cookie into another context (no DBSC key there), keeping them forever.
    const stolen = await browser!.context.cookies(app.url);
    expect(stolen.map((cookie) => cookie.name).sort()).toEqual([BOUND_COOKIE, '__Host-sid']);
    const thief: BrowserContext = await browser!.newContext();
    await thief.addCookies(stolen.map((cookie): Cookie => ({ ...cookie, expires: -1 })));
    const copiedAt = Date.now();
    const thiefPage = await thief.newPage();
    await thiefPage.goto(`${app.url}/`);
    const boundExpiry =
      Number(stolen.find((cookie) => cookie.name === BOUND_COOKIE)!.value.split('.')[0]) * 1000;
    const firstTry = await fetchStatus(thiefPage, '/me');
    note(
      `cookies copied into a second context (no key): GET /me ${firstTry} while the copied bound cookie lasts (${((boundExpiry - copiedAt) / 1000).toFixed(1)}s left)`,
    );

    let refusedAt: number | null = null;
    const deadline = copiedAt + (COOKIE_LIFETIME_S + 3) * 1000;
    while (refusedAt === null && Date.now() < deadline) {
      if ((await fetchStatus(thiefPage, '/me')) === 401) {
        refusedAt = Date.now();
      } else {
        await sleep(200);
      }
    }
    expect(refusedAt).not.toBeNull();
    const diedAfter = (refusedAt! - copiedAt) / 1000;
    expect(diedAfter).toBeLessThanOrEqual(COOKIE_LIFETIME_S + 1);
    expect(await fetchStatus(thiefPage, '/bound-only')).toBe(401);
    note(
      `copied cookies refused: GET /me 401 ${diedAfter.toFixed(1)}s after the copy (bound-cookie lifetime ${COOKIE_LIFETIME_S}s); GET /bound-only 401`,
    );

    // Meanwhile the device keeps working, refreshing again as needed.
    await sleep(1000);
    expect(await fetchStatus(page, '/me')).toBe(200);
    expect(await fetchStatus(page, '/bound-only')).toBe(200);
    const refreshEvents = app.events.filter(
      (event) => event.type === 'device-bound' && event.action === 'refreshed',
    );
    expect(refreshEvents.length).toBeGreaterThanOrEqual(1);
    note(
      `device still GET /me 200 and /bound-only 200; CDP refreshes: ${refreshes()}, all succeeded`,
    );
    expect(app.events.some((event) => event.type === 'revoked')).toBe(false);

    // The thief tries the refresh endpoint with the copied cookies and a key of their own.
    const cookieHeader = stolen.map((cookie) => `${cookie.name}=${cookie.value}`).join('; ');
    const server = app.app.getHttpServer();
    const asked = await request(server)
      .post('/session/dbsc/refresh')
      .ca(certificate.cert)
      .set('cookie', cookieHeader)
      .set('sec-secure-session-id', `"${creation.sessionId}"`);
    expect(asked.status).toBe(403);
    const { challenge } = parseChallenge(asked.headers['secure-session-challenge'] as string);
    const forged = await request(server)
      .post('/session/dbsc/refresh')
      .ca(certificate.cert)
      .set('cookie', cookieHeader)
      .set('sec-secure-session-id', `"${creation.sessionId}"`)
      .set('secure-session-response', new DeviceKey().refresh(challenge));
    expect(forged.status).toBe(403);
    expect(forged.headers['set-cookie']).toBeDefined();
    const revoked = app.events.find((event) => event.type === 'revoked');
    expect(revoked).toMatchObject({ reason: 'device-proof-failed', userId: 'alice', count: 1 });
    await thiefPage.reload();
    expect(await fetchStatus(thiefPage, '/me')).toBe(401);
    expect(await fetchStatus(page, '/me')).toBe(401);
    note(
      `thief's refresh with its own key: 403, session ended (event revoked/device-proof-failed); thief and device GET /me 401 (sign in again)`,
    );
    note(
      `server events: ${app.events.map((event) => (event.type === 'device-bound' ? `device-bound/${event.action}` : event.type)).join(', ')}`,
    );
    await thief.close();
  }, 60_000);
});
