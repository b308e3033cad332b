import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get, Header } from '@nestjs/common';
import { Public } from 'nest-secure-session';
import type { Page } from 'playwright-core';
import { createSocketApp, type SocketApp } from './fixtures/socket-app.js';
import {
  assertChromiumInstalled,
  launchChromium,
  type ChromiumSession,
} from './support/chromium.js';

/*
 * Chromium, a real Fastify app on a real port and the `ws` platform through SessionWsAdapter:
 * the browser logs in over HTTP, its WebSocket carries the HttpOnly session cookie by itself,
 * a guarded message answers with the user, and a logout over HTTP closes the socket. A page of
 * another site cannot open a socket to the app.
 */

const CHECK_INTERVAL_MS = 5_000;

/** A page whose script drives the app through `window.api`; the test calls it. */
const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>sockets</title></head>
<body>
<script>
  let ws = null;
  let csrfToken = '';
  let socketClosed = null;
  window.api = {
    async login(userId) {
      const response = await fetch('/login', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ userId }),
      });
      csrfToken = (await response.json()).csrfToken;
      return response.status;
    },
    async logout() {
      const response = await fetch('/logout', { method: 'POST', headers: { 'x-csrf-token': csrfToken } });
      return response.status;
    },
    open(url) {
      return new Promise((resolve) => {
        ws = new WebSocket(url);
        socketClosed = new Promise((done) => {
          ws.addEventListener('close', (event) => done({ code: event.code, reason: event.reason }));
        });
        ws.addEventListener('open', () => resolve('open'));
        ws.addEventListener('error', () => resolve('error'));
      });
    },
    ask(event) {
      return new Promise((resolve) => {
        ws.addEventListener('message', function answer(message) {
          const data = JSON.parse(message.data);
          if (data.event === event || data.event === 'exception') {
            ws.removeEventListener('message', answer);
            resolve(data);
          }
        });
        ws.send(JSON.stringify({ event }));
      });
    },
    /** Resolves with the close event, or 'open' when the socket is still open after ms. */
    closedWithin(ms) {
      return Promise.race([socketClosed, new Promise((done) => setTimeout(() => done('open'), ms))]);
    },
  };
</script>
</body></html>`;

@Controller()
class PageController {
  @Public()
  @Get()
  @Header('content-type', 'text/html; charset=utf-8')
  page(): string {
    return PAGE;
  }
}

type Api = {
  login(userId: string): Promise<number>;
  logout(): Promise<number>;
  open(url: string): Promise<'open' | 'error'>;
  ask(event: string): Promise<{ event: string; data: unknown }>;
  closedWithin(ms: number): Promise<{ code: number; reason: string } | 'open'>;
};

/** Calls `window.api[method](...args)` in the page. */
function api<M extends keyof Api>(
  page: Page,
  method: M,
  ...args: Parameters<Api[M]>
): Promise<Awaited<ReturnType<Api[M]>>> {
  return page.evaluate(
    ([name, values]) =>
      (globalThis as unknown as { api: Record<string, (...a: unknown[]) => unknown> }).api[name](
        ...values,
      ),
    [method, args] as [string, unknown[]],
  ) as Promise<Awaited<ReturnType<Api[M]>>>;
}

describe('WebSockets in a real browser (Chromium, ws over Fastify)', () => {
  let fixture: SocketApp | undefined;
  let browser: ChromiumSession | undefined;
  let port: number;

  beforeAll(async () => {
    assertChromiumInstalled();
    fixture = await createSocketApp({
      socket: 'ws',
      http: 'fastify',
      session: { socketCheckInterval: CHECK_INTERVAL_MS },
      controllers: [PageController],
    });
    port = Number(new URL(fixture.url).port);
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await fixture?.app.close();
  });

  it('carries the session on the socket, and closes it at logout', async () => {
    // localhost is a secure context: the browser keeps the `Secure; __Host-` cookie over http.
    const origin = `http://localhost:${port}`;
    const page = await browser!.context.newPage();
    await page.goto(`${origin}/`);

    expect(await api(page, 'login', 'alice')).toBe(200);
    expect(await api(page, 'open', `ws://localhost:${port}/`)).toBe('open');
    expect(await api(page, 'ask', 'whoami')).toMatchObject({
      event: 'whoami',
      data: { userId: 'alice' },
    });

    expect(await api(page, 'logout')).toBe(200);
    // Well under socketCheckInterval: the logout went through this process's SessionService.
    expect(await api(page, 'closedWithin', 1_000)).toEqual({ code: 1008, reason: 'Session ended' });

    // A new socket is anonymous: the cookie is gone.
    expect(await api(page, 'open', `ws://localhost:${port}/`)).toBe('open');
    expect(await api(page, 'ask', 'whoami')).toMatchObject({ event: 'exception' });
    expect(await api(page, 'ask', 'public')).toMatchObject({ event: 'public' });
    await page.close();
  });

  it('refuses a socket opened by a page of another site', async () => {
    const page = await browser!.context.newPage();
    await page.goto(`http://localhost:${port}/`);
    expect(await api(page, 'login', 'alice')).toBe(200);
    // 127.0.0.1 and localhost are different sites: a cross-site page, with the victim logged in.
    const attacker = await browser!.context.newPage();
    await attacker.goto(`http://127.0.0.1:${port}/`);
    expect(await api(attacker, 'open', `ws://localhost:${port}/`)).toBe('error');
    expect(await api(attacker, 'closedWithin', 1_000)).toMatchObject({ code: 1006 });
    await attacker.close();
    await page.close();
  });
});
