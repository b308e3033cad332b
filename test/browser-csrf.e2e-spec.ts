import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';
import {
  assertChromiumInstalled,
  launchChromium,
  type ChromiumSession,
} from './support/chromium.js';
import { platformAt, PLATFORMS } from './support/platforms.js';
import { buildLibraryAndSample, startSample, type NodeServer } from './support/sample-process.js';

const COOKIE_NAME = '__Host-sid';

/**
 * The attacker's site: a plain Node server on another localhost port. `GET /<name>` answers the
 * page registered under `name`.
 */
interface AttackerSite {
  readonly origin: string;
  page(name: string, html: string): string;
  close(): Promise<void>;
}

async function startAttackerSite(): Promise<AttackerSite> {
  const pages = new Map<string, string>();
  const server: Server = createServer((request, response) => {
    const html = pages.get((request.url ?? '/').slice(1));
    response.writeHead(html === undefined ? 404 : 200, {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
    });
    response.end(html ?? 'not found');
  });
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => done());
  });
  const { port } = server.address() as AddressInfo;
  const origin = `http://localhost:${port}`;
  return {
    origin,
    page(name, html) {
      pages.set(name, html);
      return `${origin}/${name}`;
    },
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

/** An auto-submitting cross-origin form, as a CSRF attack page has it. */
function autoSubmitForm(action: string, fields: Record<string, string> = {}): string {
  const inputs = Object.entries(fields)
    .map(([name, value]) => `<input type="hidden" name="${name}" value="${value}">`)
    .join('');
  return `<!doctype html><html><body><h1>You won a prize!</h1>
<form id="attack" method="POST" action="${action}">${inputs}</form>
<script>document.getElementById('attack').submit();</script></body></html>`;
}

/** A script-driven attack: a no-cors `fetch` with the victim's cookies. */
function noCorsFetch(action: string): string {
  return `<!doctype html><html><body><script>
fetch(${JSON.stringify(action)}, {
  method: 'POST', mode: 'no-cors', credentials: 'include',
  headers: { 'content-type': 'text/plain' }, body: 'x=1',
});
</script></body></html>`;
}

/** Waits until the page shows `user` signed in (`#whoami`), or, for `null`, the sign-in form. */
async function waitForWhoami(page: Page, user: string | null): Promise<void> {
  const shown =
    user === null
      ? page.locator('#login-form')
      : page.locator('#whoami', { hasText: new RegExp(`^${user}$`) });
  await shown.waitFor({ timeout: 10_000 });
}

/** `GET /me` from inside the sample's page (the browser's own cookie jar). */
async function meStatusInPage(page: Page): Promise<number> {
  return page.evaluate(async () => (await fetch('/me', { credentials: 'same-origin' })).status);
}

// One browser and one attacker site for the file; one sample process per platform.
let browser: ChromiumSession | undefined;
let attacker: AttackerSite | undefined;

beforeAll(async () => {
  assertChromiumInstalled();
  await buildLibraryAndSample();
  attacker = await startAttackerSite();
  browser = await launchChromium();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await attacker?.close();
});

describe.each(PLATFORMS)(
  'CSRF in a real browser: a cross-origin form post from another localhost port (%s)',
  (platform) => {
    let sample: NodeServer | undefined;

    beforeAll(async () => {
      await browser!.context.clearCookies();
      sample = await startSample({ SESSION_PLATFORM: platform });
      expect(await platformAt(sample.url)).toBe(platform);
    }, 60_000);

    afterAll(async () => {
      await sample?.stop();
    });

    /** What the browser sent with the forged POST, and what the sample answered. */
    interface Forged {
      status: number;
      sent: Record<string, string>;
      setCookie: string | null;
    }

    /** Opens `url` in a new tab of the victim's browser and captures the forged POST to `target`. */
    async function attack(url: string, target: string): Promise<Forged> {
      const tab = await browser!.context.newPage();
      try {
        const answered = tab.waitForResponse(
          (response) => response.url() === target && response.request().method() === 'POST',
          { timeout: 15_000 },
        );
        await tab.goto(url);
        const response = await answered;
        return {
          status: response.status(),
          sent: await response.request().allHeaders(),
          setCookie: await response.headerValue('set-cookie'),
        };
      } finally {
        await tab.close();
      }
    }

    it('refuses forged logout-all / logout posts (403) while the session survives; the own form logs out', async () => {
      const { context } = browser!;
      const origin = `http://localhost:${sample!.port}`;
      expect(new URL(attacker!.origin).port).not.toBe(String(sample!.port));

      // The victim logs in through the sample's own form.
      const page = await context.newPage();
      await page.goto(`${origin}/`);
      await waitForWhoami(page, null);
      await page.fill('#username', 'alice');
      await page.fill('#password', 'alice-password');
      const loggedIn = page.waitForResponse(
        (response) => response.url() === `${origin}/auth/login`,
      );
      await page.click('#login');
      expect((await loggedIn).status()).toBe(200);
      await waitForWhoami(page, 'alice');
      const held = (await context.cookies(origin)).filter((cookie) => cookie.name === COOKIE_NAME);
      expect(held).toHaveLength(1);
      const sessionCookie = held[0].value;
      const csrfToken = await page.evaluate(
        async () => ((await (await fetch('/auth/csrf')).json()) as { csrfToken: string }).csrfToken,
      );
      expect(csrfToken).toMatch(/^[A-Za-z0-9_-]{43}$/);

      // `form`: a top-level form post, whose request headers Playwright reports in full.
      const attacks: { name: string; html: string; target: string; form: boolean }[] = [
        {
          name: 'logout-all',
          target: `${origin}/auth/logout-all`,
          html: autoSubmitForm(`${origin}/auth/logout-all`),
          form: true,
        },
        {
          name: 'logout',
          target: `${origin}/auth/logout`,
          html: autoSubmitForm(`${origin}/auth/logout`, { reason: 'prize' }),
          form: true,
        },
        // Even a leaked CSRF token does not help a cross-origin page: Fetch Metadata refuses it.
        {
          name: 'logout-all-with-token',
          target: `${origin}/auth/logout-all`,
          html: autoSubmitForm(`${origin}/auth/logout-all`, { _csrf: csrfToken }),
          form: true,
        },
        {
          name: 'logout-all-no-cors-fetch',
          target: `${origin}/auth/logout-all`,
          html: noCorsFetch(`${origin}/auth/logout-all`),
          form: false,
        },
      ];
      for (const { name, html, target, form } of attacks) {
        const { status, sent, setCookie } = await attack(attacker!.page(name, html), target);
        expect({ name, status }).toEqual({ name, status: 403 });
        expect(setCookie).toBeNull();
        if (form) {
          // The browser did send the session cookie (localhost:A -> localhost:B is same-site, so
          // SameSite=Lax lets it through): the refusal is the CSRF guard's doing.
          expect({ name, cookieSent: (sent.cookie ?? '').includes(`${COOKIE_NAME}=`) }).toEqual({
            name,
            cookieSent: true,
          });
          expect({ name, site: sent['sec-fetch-site'], origin: sent.origin }).toEqual({
            name,
            site: 'same-site',
            origin: attacker!.origin,
          });
        }

        // The session survived: in the browser and from outside it.
        expect(await meStatusInPage(page)).toBe(200);
        const outside = await fetch(`${sample!.url}/me`, {
          headers: { cookie: `${COOKIE_NAME}=${sessionCookie}` },
        });
        expect(outside.status).toBe(200);
        const still = (await context.cookies(origin)).filter((c) => c.name === COOKIE_NAME);
        expect(still.map((c) => c.value)).toEqual([sessionCookie]);
      }
      await page.reload();
      await waitForWhoami(page, 'alice');

      // The sample's own logout form (same origin, with the token) works.
      const loggedOut = page.waitForResponse(
        (response) => response.url() === `${origin}/auth/logout`,
      );
      await page.click('#logout');
      const logoutResponse = await loggedOut;
      expect(logoutResponse.status()).toBe(200);
      expect((await logoutResponse.request().allHeaders())['sec-fetch-site']).toBe('same-origin');
      await waitForWhoami(page, null);
      expect(await meStatusInPage(page)).toBe(401);
      const after = await fetch(`${sample!.url}/me`, {
        headers: { cookie: `${COOKIE_NAME}=${sessionCookie}` },
      });
      expect(after.status).toBe(401);
      await page.close();
    });

    it('refuses a forged login post (login CSRF) into the attacker’s account', async () => {
      const { context } = browser!;
      const origin = `http://localhost:${sample!.port}`;
      await context.clearCookies();
      const page = await context.newPage();
      await page.goto(`${origin}/`);
      await waitForWhoami(page, null);

      const forged = await attack(
        attacker!.page(
          'login-csrf',
          autoSubmitForm(`${origin}/auth/login`, { username: 'admin', password: 'admin-password' }),
        ),
        `${origin}/auth/login`,
      );
      expect(forged.sent['sec-fetch-site']).toBe('same-site');
      expect(forged.status).toBe(403);
      expect(forged.setCookie).toBeNull();
      expect(await meStatusInPage(page)).toBe(401);
      expect((await context.cookies(origin)).filter((c) => c.name === COOKIE_NAME)).toEqual([]);
      await page.close();
    });
  },
);
