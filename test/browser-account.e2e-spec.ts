import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Page, Response } from 'playwright-core';
import {
  assertChromiumInstalled,
  launchChromium,
  type ChromiumSession,
} from './support/chromium.js';
import { platformAt, PLATFORMS } from './support/platforms.js';
import {
  buildLibraryAndSample,
  PROJECT_ROOT,
  startSample,
  type NodeServer,
} from './support/sample-process.js';

/*
 * The sample's account page in real Chromium, as a user meets it: sign in (a wrong password
 * first), who am I, the active sessions (device labels, this-device marker, revoke, sign out
 * everywhere else), the admin action that asks for the password again once the login is no
 * longer fresh, and sign out. Each flow runs with JavaScript on (the page calls the JSON API)
 * and off (plain form posts, POST-redirect-GET), on Express and on Fastify. Screenshots go to
 * test-results/screenshots/ (gitignored; sample/screenshots/ keeps two of them).
 */

const COOKIE_NAME = '__Host-sid';
/** The sample's `FRESH_LOGIN_SECONDS` here: short, so a login goes stale within the test. */
const FRESH_LOGIN_SECONDS = 4;
const SCREENSHOTS = join(PROJECT_ROOT, 'test-results', 'screenshots');
const VIEWPORT = { width: 960, height: 720 };

/** User agents of the "other devices", logged in from Node. */
const IPHONE =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 ' +
  '(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';
const FIREFOX_WINDOWS =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0';
/** An attacker picks their user agent: the page must show it as text, never run it. */
const HOSTILE = '"><img src=x onerror="window.pwned=1"><script>window.pwned=1</script><b>bold</b>';

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** The routes a flow uses: the JSON API with JavaScript, the form routes without. */
interface Mode {
  name: string;
  javaScript: boolean;
  /** Status of a successful action: `200` (fetch) or `303` (form post, redirected). */
  ok: number;
  login: string;
  logout: string;
  revoke: RegExp;
  signOutOthers: string;
  reauthenticate: string;
  adminSignOut: string;
}

const MODES: Mode[] = [
  {
    name: 'JavaScript on',
    javaScript: true,
    ok: 200,
    login: 'POST /auth/login',
    logout: 'POST /auth/logout',
    revoke: /^DELETE \/auth\/sessions\/[^/]+$/,
    signOutOthers: 'POST /auth/logout-others',
    reauthenticate: 'POST /auth/reauthenticate',
    adminSignOut: 'POST /admin/users/alice/sign-out',
  },
  {
    name: 'JavaScript off',
    javaScript: false,
    ok: 303,
    login: 'POST /account/login',
    logout: 'POST /account/logout',
    revoke: /^POST \/account\/sessions\/[^/]+\/revoke$/,
    signOutOthers: 'POST /account/sign-out-others',
    reauthenticate: 'POST /account/reauthenticate',
    adminSignOut: 'POST /account/admin/users/alice/sign-out',
  },
];

/** What went wrong in the page: console errors, uncaught errors, dialogs (alert: XSS). */
interface Watched {
  consoleErrors: string[];
  pageErrors: string[];
  dialogs: string[];
  failedResponses: string[];
}

function watch(page: Page): Watched {
  const watched: Watched = { consoleErrors: [], pageErrors: [], dialogs: [], failedResponses: [] };
  page.on('console', (message) => {
    if (message.type() === 'error') {
      watched.consoleErrors.push(message.text());
    }
  });
  page.on('pageerror', (error) => watched.pageErrors.push(String(error)));
  page.on('dialog', (dialog) => {
    watched.dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  page.on('response', (response) => {
    if (response.status() >= 400) {
      watched.failedResponses.push(`${response.status()} ${response.url()}`);
    }
  });
  return watched;
}

/** Clicks `selector` and resolves with the response to `route` ("METHOD /path" or a RegExp). */
async function clickFor(page: Page, selector: string, route: string | RegExp): Promise<Response> {
  const matches = (response: Response) => {
    const request = `${response.request().method()} ${new URL(response.url()).pathname}`;
    return typeof route === 'string' ? request === route : route.test(request);
  };
  const [response] = await Promise.all([
    page.waitForResponse(matches, { timeout: 15_000 }),
    page.click(selector),
  ]);
  return response;
}

/** The whole page; `fullPage: false` for a modal dialog, whose backdrop covers the viewport. */
async function screenshot(page: Page, name: string, fullPage = true): Promise<void> {
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage });
}

let browser: ChromiumSession | undefined;

beforeAll(async () => {
  assertChromiumInstalled();
  await buildLibraryAndSample();
  mkdirSync(SCREENSHOTS, { recursive: true });
  browser = await launchChromium();
}, 180_000);

afterAll(async () => {
  await browser?.close();
});

describe.each(PLATFORMS)('the account page in a real browser (Chromium, %s)', (platform) => {
  let server: NodeServer | undefined;
  let origin = '';

  beforeAll(async () => {
    server = await startSample({
      SESSION_PLATFORM: platform,
      FRESH_LOGIN_SECONDS: String(FRESH_LOGIN_SECONDS),
    });
    expect(await platformAt(server.url)).toBe(platform);
    origin = `http://localhost:${server.port}`;
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
  });

  /** Logs `username` in from Node with `userAgent` (another device); the `name=value` cookie. */
  async function loginElsewhere(username: string, userAgent: string): Promise<string> {
    const response = await fetch(`${server!.url}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': userAgent },
      body: JSON.stringify({ username, password: `${username}-password` }),
    });
    expect(response.status).toBe(200);
    const cookie = response.headers
      .getSetCookie()
      .find((entry) => entry.startsWith(`${COOKIE_NAME}=`));
    return cookie!.split(';')[0];
  }

  /** Ends every session of `username` (`POST /auth/logout-all`): each test starts from none. */
  async function endAllSessions(username: string): Promise<void> {
    const cookie = await loginElsewhere(username, 'test clean-up');
    const csrf = await fetch(`${server!.url}/auth/csrf`, { headers: { cookie } });
    const { csrfToken } = (await csrf.json()) as { csrfToken: string };
    const response = await fetch(`${server!.url}/auth/logout-all`, {
      method: 'POST',
      headers: { cookie, 'x-csrf-token': csrfToken },
    });
    expect(response.status).toBe(200);
  }

  /** `GET /me` from Node with `cookie` ("name=value"): 200 while that session lives. */
  async function meStatus(cookie: string): Promise<number> {
    const response = await fetch(`${server!.url}/me`, { headers: { cookie } });
    await response.body?.cancel();
    return response.status;
  }

  /** The browser's session cookie as "name=value", or `undefined`. */
  async function browserCookie(context: BrowserContext): Promise<string | undefined> {
    const held = (await context.cookies(origin)).find((cookie) => cookie.name === COOKIE_NAME);
    return held === undefined ? undefined : `${COOKIE_NAME}=${held.value}`;
  }

  async function openPage(mode: Mode): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser!.newContext({
      javaScriptEnabled: mode.javaScript,
      viewport: VIEWPORT,
    });
    return { context, page: await context.newPage() };
  }

  async function signIn(page: Page, mode: Mode, username: string, password: string) {
    await page.fill('#username', username);
    await page.fill('#password', password);
    return clickFor(page, '#login', mode.login);
  }

  describe.each(MODES)('$name', (mode) => {
    beforeEach(async () => {
      await endAllSessions('alice');
      await endAllSessions('admin');
    });

    const shot = (name: string) => `${platform}-${mode.javaScript ? 'js' : 'no-js'}-${name}`;

    it('signs in, shows who and where, revokes a device, signs out everywhere else, signs out', async () => {
      const { context, page } = await openPage(mode);
      const watched = watch(page);

      // An anonymous load: the sign-in form, and not one error in the console.
      await page.goto(`${origin}/`, { waitUntil: 'load' });
      await page.locator('#login-form').waitFor();
      await sleep(200); // a late script error or request would show up by now
      expect(watched).toEqual({
        consoleErrors: [],
        pageErrors: [],
        dialogs: [],
        failedResponses: [],
      });
      await screenshot(page, shot('sign-in'));

      // A wrong password: the server's message; the password field is empty again.
      const refused = await signIn(page, mode, 'alice', 'not-her-password');
      expect(refused.status()).toBe(401);
      await page
        .locator('#login-form [data-error]', { hasText: 'Wrong username or password' })
        .waitFor();
      expect(await page.inputValue('#password')).toBe('');
      expect(await page.inputValue('#username')).toBe('alice');
      await screenshot(page, shot('sign-in-error'));

      // Alice is also signed in on a phone, and on a "device" whose user agent is hostile.
      const phone = await loginElsewhere('alice', IPHONE);
      const hostile = await loginElsewhere('alice', HOSTILE);

      const accepted = await signIn(page, mode, 'alice', 'alice-password');
      expect(accepted.status()).toBe(mode.ok);
      await page.locator('#whoami', { hasText: /^alice$/ }).waitFor();
      expect(await page.locator('#roles .role').allInnerTexts()).toEqual(['user']);
      expect(await page.locator('#admin-title').count()).toBe(0); // alice is no admin
      const own = (await browserCookie(context))!;
      expect(own).toBeDefined();

      const rows = page.locator('#session-list > li');
      expect(await rows.count()).toBe(3);
      const thisDevice = rows.first();
      expect(await thisDevice.locator('.device').innerText()).toBe('Chrome on Linux');
      expect(await thisDevice.locator('.badge').innerText()).toBe('This device');
      expect(await thisDevice.locator('button').count()).toBe(0);
      expect(await thisDevice.locator('time').first().innerText()).toBe('just now');
      const phoneRow = rows.filter({ hasText: 'Safari on iOS' });
      expect(await phoneRow.count()).toBe(1);
      expect(await phoneRow.locator('.badge').count()).toBe(0);
      expect(await phoneRow.locator('time').count()).toBe(2); // created, last seen

      // The hostile user agent is text: its full value round-trips in the tooltip, and no
      // element of it made it into the page.
      const hostileRow = rows.filter({
        has: page.locator(`.device[title="${HOSTILE.replace(/"/g, '\\"')}"]`),
      });
      expect(await hostileRow.count()).toBe(1);
      expect(
        await page.locator('#session-list img, #session-list script, #session-list b').count(),
      ).toBe(0);
      expect(await hostileRow.locator('.device').innerText()).toBe('Unknown device');
      await screenshot(page, shot('account'));

      // Revoke the phone: its cookie stops working at once.
      const revoked = await clickFor(
        page,
        '#session-list > li:has-text("Safari on iOS") button',
        mode.revoke,
      );
      expect(revoked.status()).toBe(mode.ok);
      await page
        .locator('#session-list > li', { hasText: 'Safari on iOS' })
        .waitFor({ state: 'detached' });
      expect(await rows.count()).toBe(2);
      expect(await meStatus(phone)).toBe(401);
      expect(await meStatus(hostile)).toBe(200);

      // Sign out everywhere else: the hostile device is out, this one stays in.
      const others = await clickFor(page, '#sign-out-others', mode.signOutOthers);
      expect(others.status()).toBe(mode.ok);
      await page.locator('#notice', { hasText: 'Signed out 1 other session' }).waitFor();
      expect(await rows.count()).toBe(1);
      expect(await page.locator('#sign-out-others').count()).toBe(0);
      expect(await meStatus(hostile)).toBe(401);
      expect(await meStatus(own)).toBe(200);
      expect(await browserCookie(context)).toBe(own);

      // Sign out: the sign-in form again, no cookie left, and the server forgot the session.
      const out = await clickFor(page, '#logout', mode.logout);
      expect(out.status()).toBe(mode.ok);
      await page.locator('#login-form').waitFor();
      expect(await browserCookie(context)).toBeUndefined();
      expect(await meStatus(own)).toBe(401);

      expect(watched.pageErrors).toEqual([]);
      expect(watched.dialogs).toEqual([]);
      await context.close();
    }, 60_000);

    it('asks an admin for the password again once the login is not fresh; that re-login is a new session', async () => {
      const { context, page } = await openPage(mode);
      const watched = watch(page);
      const alice = [
        await loginElsewhere('alice', FIREFOX_WINDOWS),
        await loginElsewhere('alice', IPHONE),
      ];
      // An admin's other devices, so the page has something to show.
      await loginElsewhere('admin', IPHONE);
      await loginElsewhere('admin', FIREFOX_WINDOWS);

      await page.goto(`${origin}/`);
      expect((await signIn(page, mode, 'admin', 'admin-password')).status()).toBe(mode.ok);
      const signedInAt = Date.now();
      await page.locator('#whoami', { hasText: /^admin$/ }).waitFor();
      expect(await page.locator('#roles .role').allInnerTexts()).toEqual(['user', 'admin']);
      const aliceRow = page.locator('.users li', { hasText: 'alice' });
      expect(await aliceRow.innerText()).toContain('2 active sessions');
      expect(await page.locator('#session-list > li').count()).toBe(3);
      await screenshot(page, shot('admin'));
      const firstLogin = (await browserCookie(context))!;

      // Only an admin may: alice's own session is refused (403).
      const aliceCsrf = (await (
        await fetch(`${server!.url}/auth/csrf`, { headers: { cookie: alice[0] } })
      ).json()) as { csrfToken: string };
      const forbidden = await fetch(`${server!.url}/admin/users/admin/sign-out`, {
        method: 'POST',
        headers: { cookie: alice[0], 'x-csrf-token': aliceCsrf.csrfToken },
      });
      expect(forbidden.status).toBe(403);

      // Let the login go stale; the action now asks for the password.
      await sleep(Math.max(0, signedInAt + FRESH_LOGIN_SECONDS * 1000 + 500 - Date.now()));
      const stale = await clickFor(page, '[data-sign-out-user="alice"]', mode.adminSignOut);
      expect(stale.status()).toBe(401);
      expect(await stale.json().catch(() => null)).toEqual(
        mode.javaScript ? expect.objectContaining({ reauthenticate: true }) : null,
      );
      const prompt = page.locator(mode.javaScript ? '#reauthenticate-dialog' : '#reauthenticate');
      await prompt.waitFor({ state: 'visible' });
      expect(await prompt.innerText()).toContain('Confirm it’s you');
      expect(await meStatus(alice[0])).toBe(200); // nothing happened yet

      // A wrong password: the server's message, the field emptied, the prompt still there.
      await prompt.locator('input[name="password"]').fill('wrong');
      const wrong = await clickFor(
        page,
        `${mode.javaScript ? '#reauthenticate-dialog' : '#reauthenticate'} button.primary`,
        mode.reauthenticate,
      );
      expect(wrong.status()).toBe(401);
      await prompt.locator('[data-error]', { hasText: 'Wrong password' }).waitFor();
      expect(await prompt.locator('input[name="password"]').inputValue()).toBe('');
      await screenshot(page, shot('reauthenticate'), !mode.javaScript);

      await prompt.locator('input[name="password"]').fill('admin-password');
      const confirmed = await clickFor(
        page,
        `${mode.javaScript ? '#reauthenticate-dialog' : '#reauthenticate'} button.primary`,
        mode.reauthenticate,
      );
      expect(confirmed.status()).toBe(mode.ok);
      if (!mode.javaScript) {
        // Without a script the form cannot be sent again for the user: the page says so.
        await page.locator('#notice', { hasText: 'Password confirmed' }).waitFor();
        expect(
          (await clickFor(page, '[data-sign-out-user="alice"]', mode.adminSignOut)).status(),
        ).toBe(303);
      }
      // With the script, the dialog's confirmation retried the action by itself.
      await page.locator('#notice', { hasText: 'Signed alice out of 2 sessions' }).waitFor();
      expect(await prompt.isVisible()).toBe(false);
      expect(await aliceRow.innerText()).toContain('0 active sessions');
      for (const cookie of alice) {
        expect(await meStatus(cookie)).toBe(401);
      }

      // The re-authentication was a new login: a new session id, the old cookie is dead.
      const secondLogin = (await browserCookie(context))!;
      expect(secondLogin).not.toBe(firstLogin);
      expect(await meStatus(firstLogin)).toBe(401);
      expect(await meStatus(secondLogin)).toBe(200);
      expect(await page.locator('#session-list > li').count()).toBe(3);
      expect(await page.locator('#session-list > li.current .device').innerText()).toBe(
        'Chrome on Linux',
      );

      // Tidy up: sign out everywhere else, then here.
      await clickFor(page, '#sign-out-others', mode.signOutOthers);
      await page.locator('#notice', { hasText: 'Signed out 2 other sessions' }).waitFor();
      await clickFor(page, '#logout', mode.logout);
      await page.locator('#login-form').waitFor();
      expect(await meStatus(secondLogin)).toBe(401);

      expect(watched.pageErrors).toEqual([]);
      expect(watched.dialogs).toEqual([]);
      await context.close();
    }, 60_000);
  });
});
