import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type BrowserContextOptions } from 'playwright-core';

/** The Debian `chromium` package's launcher; `.ci/run` installs it when missing. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Flags for a quiet, isolated headless run as root in a container. */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Throws unless Chromium is installed and executable at {@link CHROMIUM_PATH}. The browser
 * test never skips: without a browser it fails, in CI and locally alike.
 */
export function assertChromiumInstalled(): void {
  try {
    accessSync(CHROMIUM_PATH, constants.X_OK);
  } catch {
    throw new Error(
      `Chromium is not installed at ${CHROMIUM_PATH}` +
        (process.env.CI === 'true' ? ' (CI=true: the browser test must run)' : '') +
        '. Install it with `apt-get update && apt-get install -y chromium` (`.ci/run` does).',
    );
  }
}

/** A browser context with a fresh profile; `close()` ends the browser and deletes the profile. */
export interface ChromiumSession {
  readonly context: BrowserContext;
  /**
   * Another context of the same browser: its own cookie jar, and `options` such as
   * `javaScriptEnabled: false`, `userAgent` or `viewport`. Closed with the browser.
   */
  newContext(options?: BrowserContextOptions): Promise<BrowserContext>;
  close(): Promise<void>;
}

/** Options of `launchChromium`. */
export interface ChromiumLaunchOptions {
  /** Flags added to the quiet, isolated defaults (e.g. `--enable-features=…`). */
  readonly args?: readonly string[];
}

/**
 * Launches the system Chromium with a fresh profile in a new temporary directory.
 * Playwright refuses `--user-data-dir` in `launch()` args, so the profile goes through
 * `launchPersistentContext()`, which passes it to Chromium itself.
 */
export async function launchChromium(
  options: ChromiumLaunchOptions = {},
): Promise<ChromiumSession> {
  assertChromiumInstalled();
  const profile = mkdtempSync(join(tmpdir(), 'nest-secure-session-chromium-'));
  try {
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM_PATH,
      args: [...CHROMIUM_ARGS, ...(options.args ?? [])],
      timeout: 60_000,
    });
    return {
      context,
      newContext: async (options = {}) => {
        const browser = context.browser();
        if (browser === null) {
          throw new Error('This Chromium context has no browser to open another context in');
        }
        return browser.newContext(options);
      },
      close: async () => {
        try {
          await context.close();
        } finally {
          rmSync(profile, { recursive: true, force: true });
        }
      },
    };
  } catch (error) {
    rmSync(profile, { recursive: true, force: true });
    throw error;
  }
}
