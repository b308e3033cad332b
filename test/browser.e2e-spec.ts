import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Page } from 'playwright-core';
import {
  assertChromiumInstalled,
  launchChromium,
  type ChromiumSession,
} from './support/chromium.js';
import { platformAt, PLATFORMS } from './support/platforms.js';
import { buildLibraryAndSample, startSample, type NodeServer } from './support/sample-process.js';

const COOKIE_NAME = '__Host-sid';

/** Waits until the page shows `user` signed in (`#whoami`), or, for `null`, the sign-in form. */
async function waitForWhoami(page: Page, user: string | null): Promise<void> {
  const shown =
    user === null
      ? page.locator('#login-form')
      : page.locator('#whoami', { hasText: new RegExp(`^${user}$`) });
  await shown.waitFor({ timeout: 10_000 });
}

/**
 * Counts the page's requests still awaiting a response; `settled()` resolves once none has
 * been for 100 ms. After a login the page fetches its new markup (with the new CSRF token):
 * clicking "Sign out" before it arrives would test the page's timing, not its cookies.
 * (Counted to the response: a fetch whose body the page never reads may never `requestfinished`.)
 */
function trackRequests(page: Page): { settled(): Promise<void> } {
  let inFlight = 0;
  page.on('request', () => (inFlight += 1));
  page.on('response', () => (inFlight -= 1));
  page.on('requestfailed', () => (inFlight -= 1));
  return {
    async settled() {
      const deadline = Date.now() + 10_000;
      let quietSince = Date.now();
      while (Date.now() - quietSince < 100) {
        if (inFlight > 0) {
          quietSince = Date.now();
        }
        if (Date.now() > deadline) {
          throw new Error(`${inFlight} request(s) still in flight after 10 s`);
        }
        await new Promise((done) => setTimeout(done, 20));
      }
    },
  };
}

/** `GET /me` from Node (not the browser) with a hand-made Cookie header. */
async function getMeWithCookie(server: NodeServer, cookie: string): Promise<Response> {
  return fetch(`${server.url}/me`, { headers: { cookie: `${COOKIE_NAME}=${cookie}` } });
}

// One browser for the file; one sample process per platform, each with a clean cookie jar.
let browser: ChromiumSession | undefined;

beforeAll(async () => {
  // Fail (never skip) before spending time on builds when the browser is missing.
  assertChromiumInstalled();
  await buildLibraryAndSample();
  browser = await launchChromium();
}, 180_000);

afterAll(async () => {
  await browser?.close();
});

describe.each(PLATFORMS)('the sample app in a real browser (Chromium, %s)', (platform) => {
  let server: NodeServer | undefined;

  beforeAll(async () => {
    await browser!.context.clearCookies();
    server = await startSample({ SESSION_PLATFORM: platform });
    expect(await platformAt(server.url)).toBe(platform);
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
  });

  it('logs in through the form with an HttpOnly cookie, and logout kills a copied cookie', async () => {
    const { context } = browser!;
    const app = server!;
    // localhost (not 127.0.0.1) is what a developer opens; browsers treat it as a secure
    // context, so they keep a `Secure; __Host-` cookie from plain http://localhost.
    const origin = `http://localhost:${app.port}`;
    const page = await context.newPage();
    const requests = trackRequests(page);

    await page.goto(`${origin}/`);
    expect(await page.evaluate('window.isSecureContext')).toBe(true);
    await waitForWhoami(page, null);

    await page.fill('#username', 'alice');
    await page.fill('#password', 'alice-password');
    const loginResponse = page.waitForResponse(
      (response) => response.url() === `${origin}/auth/login`,
    );
    await page.click('#login');
    expect((await loginResponse).status()).toBe(200);
    await waitForWhoami(page, 'alice');
    await requests.settled();
    expect(await page.locator('#whoami').textContent()).toBe('alice');

    // Page scripts can read ordinary cookies (proved with a probe) but not the session cookie.
    await page.evaluate("document.cookie = 'probe=visible; path=/'");
    const documentCookie = await page.evaluate('document.cookie');
    expect(typeof documentCookie).toBe('string');
    expect(documentCookie).toContain('probe=visible');
    expect(documentCookie).not.toContain(COOKIE_NAME);

    // The browser does hold it, with the hardened attributes, as a host-only session cookie.
    const held = (await context.cookies(origin)).filter((cookie) => cookie.name === COOKIE_NAME);
    expect(held).toHaveLength(1);
    const [sessionCookie] = held;
    expect(sessionCookie).toMatchObject({
      domain: 'localhost',
      path: '/',
      httpOnly: true,
      secure: true,
      sameSite: 'Lax',
      expires: -1,
    });
    const copied = sessionCookie.value;
    expect(copied.length).toBeGreaterThanOrEqual(43);

    // The copy works from outside the browser while the session lives...
    const before = await getMeWithCookie(app, copied);
    expect(before.status).toBe(200);
    expect(await before.json()).toMatchObject({ userId: 'alice' });

    const logoutResponse = page.waitForResponse(
      (response) => response.url() === `${origin}/auth/logout`,
    );
    await page.click('#logout');
    expect((await logoutResponse).status()).toBe(200);
    await waitForWhoami(page, null);
    expect(await page.locator('#whoami').count()).toBe(0);
    const left = (await context.cookies(origin)).filter((cookie) => cookie.name === COOKIE_NAME);
    expect(left).toEqual([]);

    // ...and not after logout: the server ended it, not only the browser.
    const after = await getMeWithCookie(app, copied);
    expect(after.status).toBe(401);
    expect(after.headers.get('content-type')).toMatch(/^application\/json/);
    await page.close();
  });
});
