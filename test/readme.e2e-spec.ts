import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  createScratchDir,
  INSTALL_ARGS,
  INSTALL_TIMEOUT_MS,
  linkProjectPackages,
  packLibrary,
  type PackedLibrary,
} from './support/packed-package.js';
import { markedBlocks, type MarkedBlock } from './support/readme-blocks.js';
import { REDIS_URL } from './support/redis-env.js';
import {
  childEnv,
  PROJECT_ROOT,
  runCommand,
  runNpm,
  startNodeServer,
  type NodeServer,
} from './support/sample-process.js';

/**
 * README.md as a new user meets it: its code blocks, copied literally into a scratch app outside
 * the repository that installs the library from the tarball `npm pack` makes, compiled with
 * `tsc` and run with plain `node`.
 *
 * Which blocks run: in README.md, an HTML comment `<!-- readme-test: <id> -->` on its own line
 * right before a fenced block (blank lines between allowed) marks it; see `markedBlocks`. Ids:
 * - `install`, `install-redis` (sh): `npm …` commands, run in the scratch app in order, except
 *   `npm install`, whose packages are installed or linked as `INSTALLED_WITH_NPM` says;
 * - `secret` (sh): one command that prints a secret; what it prints is `SESSION_SECRET`;
 * - `<project>/<file>`: written to `<file>` of the scratch project `<project>` (`quick-start`,
 *   `typing`, `redis`); every project takes `quick-start/tsconfig.json` unless it has its own.
 * A marked block this test does not know, or a known one that is missing, fails the suite, so
 * the markers and the test cannot drift apart.
 */

const README = readFileSync(join(PROJECT_ROOT, 'README.md'), 'utf8');

const KNOWN_IDS = [
  'install',
  'install-redis',
  'secret',
  'quick-start/tsconfig.json',
  'quick-start/src/app.module.ts',
  'quick-start/src/main.ts',
  'typing/src/session-data.d.ts',
  'redis/src/app.module.ts',
];

/**
 * What the scratch app gets with `npm install` (from the npm cache where it can): the packed
 * library (with its own dependencies, no peers), and the TypeScript a new user gets today (7 is
 * native: the six projects below compile in about a second, where the repository's TypeScript 6
 * takes several seconds each). Every other package the README installs is linked from this
 * repository's node_modules: fast, no registry, and a package the repository lacks fails the
 * suite. That the tarball installs with npm beside freshly installed peers is
 * test/package.e2e-spec.ts's job.
 */
const INSTALLED_WITH_NPM = ['nest-secure-session', 'typescript'];

const COOKIE_NAME = '__Host-sid';
/** How soon after `app.close()` the Redis example's process must have exited by itself. */
const EXIT_WITHIN_MS = 3_000;
const TEST_TIMEOUT_MS = 60_000;

/** Written beside the typing snippet: uses the key it declares, as an app would. */
const TYPING_USE = `import type { SessionHandle } from 'nest-secure-session';

export function addToCart(session: SessionHandle, item: string): string[] {
  const cart: string[] = [...(session.get('cart') ?? []), item];
  session.set('cart', cart);
  return cart;
}
`;

/** A wrong use of the declared key, which must not compile. */
const TYPING_MISUSE = `
export function setCartToANumber(session: SessionHandle): void {
  session.set('cart', 42);
}
`;

/**
 * Boots the README's Redis `AppModule`, makes one round trip through its store to the real
 * Redis, closes the app and reports it; the process must then exit on its own.
 */
const REDIS_HARNESS = `import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { RedisStore, SessionStore } from 'nest-secure-session';
import { AppModule } from './app.module.js';

const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] });
await app.listen(0, '127.0.0.1');
const store = app.get<SessionStore>(SessionStore);
if (!(store instanceof RedisStore)) {
  throw new Error('The session store is not a RedisStore');
}
// The client has no offline queue: retry until it has connected.
for (let attempt = 1; ; attempt++) {
  try {
    await store.listByUser('readme-test-nobody');
    break;
  } catch (error) {
    if (attempt === 50) {
      throw error;
    }
    await new Promise((done) => setTimeout(done, 100));
  }
}
console.log('redis round trip done');
await app.close();
console.log('app closed');
`;

interface CompileResult {
  ok: boolean;
  output: string;
}

/** A child `node` process whose output is watched. */
interface WatchedProcess {
  /** Resolves when `text` has appeared in the output; rejects on exit or after `ms`. */
  waitFor(text: string, ms: number): Promise<void>;
  /** Resolves with the exit code (`null` when killed), or `'running'` after `ms`. */
  exitWithin(ms: number): Promise<number | null | 'running'>;
  output(): string;
  /** SIGKILLs the process by its pid if it still runs. */
  kill(): void;
}

function watchNode(script: string, cwd: string, env: Record<string, string>): WatchedProcess {
  const child = spawn(process.execPath, [script], {
    cwd,
    env: childEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const listeners = new Set<() => void>();
  const collect = (chunk: string): void => {
    output += chunk;
    listeners.forEach((listener) => listener());
  };
  child.stdout.setEncoding('utf8').on('data', collect);
  child.stderr.setEncoding('utf8').on('data', collect);
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((done) =>
    child.once('exit', (code) => {
      exitCode = code;
      done(code);
    }),
  );
  return {
    output: () => output,
    waitFor: (text, ms) =>
      new Promise((done, fail) => {
        const check = (): void => {
          if (output.includes(text)) {
            finish();
            done();
          }
        };
        const timer = setTimeout(() => {
          finish();
          fail(new Error(`No '${text}' within ${ms} ms. Output:\n${output}`));
        }, ms);
        const finish = (): void => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        void exited.then(() => {
          if (listeners.has(check)) {
            finish();
            fail(new Error(`Exited (${exitCode}) before printing '${text}'. Output:\n${output}`));
          }
        });
        check();
      }),
    exitWithin: async (ms) => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'running'>((done) => {
        timer = setTimeout(() => done('running'), ms);
      });
      const result = await Promise.race([exited, timeout]);
      clearTimeout(timer);
      return result;
    },
    kill: () => {
      if (exitCode === undefined && child.pid !== undefined) {
        process.kill(child.pid, 'SIGKILL');
      }
    },
  };
}

function block(blocks: Map<string, MarkedBlock>, id: string): MarkedBlock {
  const found = blocks.get(id);
  if (found === undefined) {
    throw new Error(`README.md has no block marked <!-- readme-test: ${id} -->`);
  }
  return found;
}

/** The npm commands of a shell block, each as its arguments after `npm`. */
function npmCommands(shell: MarkedBlock): string[][] {
  return shell.code
    .split('\n')
    .flatMap((line) => line.split('&&'))
    .map((command) => command.trim())
    .filter((command) => command !== '' && !command.startsWith('#'))
    .map((command) => {
      const words = command.split(/\s+/);
      if (words[0] !== 'npm' || /["'`$|;<>\\]/.test(command)) {
        throw new Error(
          `README line ${shell.line} ('${shell.id}'): this test runs plain npm commands only, not \`${command}\``,
        );
      }
      return words.slice(1);
    });
}

/** The session cookie's `Set-Cookie` lines of a response. */
function sessionSetCookies(response: Response): string[] {
  return response.headers.getSetCookie().filter((line) => line.startsWith(`${COOKIE_NAME}=`));
}

/** `name=value` of the one session cookie a response sets. */
function sessionCookieOf(response: Response): string {
  const lines = sessionSetCookies(response);
  expect(lines).toHaveLength(1);
  return lines[0].split(';')[0];
}

describe('README.md, copied literally into an app that installs the packed package', () => {
  const blocks = markedBlocks(README);
  let packed: PackedLibrary | undefined;
  let appDir = '';
  let secret = '';
  const compiled = new Map<string, Promise<CompileResult>>();
  const servers: NodeServer[] = [];
  const processes: WatchedProcess[] = [];

  /** Writes `<appDir>/<project>` with the README's tsconfig and `files`. */
  function writeProject(project: string, files: Record<string, string>): string {
    const dir = join(appDir, project);
    const all = { 'tsconfig.json': block(blocks, 'quick-start/tsconfig.json').code, ...files };
    for (const [path, content] of Object.entries(all)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), content);
    }
    return dir;
  }

  /** The README's blocks for `project`, by file path. */
  function projectFiles(project: string): Record<string, string> {
    return Object.fromEntries(
      [...blocks.values()]
        .filter(({ id }) => id.startsWith(`${project}/`))
        .map(({ id, code }) => [id.slice(project.length + 1), code]),
    );
  }

  /** Runs the app's own `tsc -p <project>`; never rejects. */
  async function compile(project: string): Promise<CompileResult> {
    const tsc = join(appDir, 'node_modules', 'typescript', 'bin', 'tsc');
    try {
      const { stdout } = await runCommand(process.execPath, [tsc, '-p', project], {
        cwd: appDir,
        timeoutMs: 60_000,
      });
      return { ok: true, output: stdout };
    } catch (error) {
      return { ok: false, output: (error as Error).message };
    }
  }

  function compiledProject(project: string): Promise<CompileResult> {
    const result = compiled.get(project);
    if (result === undefined) {
      throw new Error(`The project '${project}' was not compiled`);
    }
    return result;
  }

  let quickStart: Promise<NodeServer> | undefined;
  /** The Quick start app, compiled and started once for the tests that talk to it. */
  function quickStartServer(): Promise<NodeServer> {
    quickStart ??= (async () => {
      const result = await compiledProject('quick-start');
      if (!result.ok) {
        throw new Error(`The Quick start does not compile:\n${result.output}`);
      }
      const server = await startNodeServer({
        script: join('dist', 'main.js'),
        cwd: join(appDir, 'quick-start'),
        env: { SESSION_SECRET: secret, NODE_ENV: undefined },
        readyPath: '/me',
      });
      servers.push(server);
      return server;
    })();
    return quickStart;
  }

  beforeAll(async () => {
    packed = await packLibrary('readme');
    appDir = createScratchDir(packed, 'app', null);

    // The README's install commands as a user runs them, but for where the packages come from.
    const installs: string[] = [];
    for (const args of [
      ...npmCommands(block(blocks, 'install')),
      ...npmCommands(block(blocks, 'install-redis')),
    ]) {
      if (args[0] === 'install' || args[0] === 'i') {
        installs.push(...args.slice(1).filter((arg) => !arg.startsWith('-')));
      } else {
        await runNpm(args, appDir);
      }
    }
    for (const name of INSTALLED_WITH_NPM) {
      expect(installs).toContain(name);
    }
    await runNpm(
      [
        ...INSTALL_ARGS,
        '--omit=peer',
        ...INSTALLED_WITH_NPM.map((name) =>
          name === 'nest-secure-session' ? (packed as PackedLibrary).tarball : name,
        ),
      ],
      appDir,
      INSTALL_TIMEOUT_MS,
    );
    linkProjectPackages(
      appDir,
      installs.filter((name) => !INSTALLED_WITH_NPM.includes(name)),
    );

    const command = block(blocks, 'secret').code.trim();
    expect(command.split('\n')).toHaveLength(1);
    secret = (await runCommand('sh', ['-c', command], { cwd: appDir })).stdout.trim();

    const typing = projectFiles('typing');
    const declaration = typing['src/session-data.d.ts'];
    const withoutExport = declaration.replace(/^export \{\};.*\n/m, '');
    expect(withoutExport).not.toBe(declaration);
    const redis = projectFiles('redis');
    const appModule = redis['src/app.module.ts'];
    const withoutHook = appModule
      .replace(/\n {2}async onApplicationShutdown\(\) \{\n[\s\S]*?\n {2}\}\n/, '\n')
      .replace(' implements OnApplicationShutdown', '');
    expect(withoutHook).not.toContain('onApplicationShutdown');

    const projects: Record<string, Record<string, string>> = {
      'quick-start': projectFiles('quick-start'),
      typing: { ...typing, 'src/use.ts': TYPING_USE },
      'typing-misuse': { ...typing, 'src/use.ts': TYPING_USE + TYPING_MISUSE },
      'typing-without-export': {
        'src/session-data.d.ts': withoutExport,
        'src/use.ts': TYPING_USE,
      },
      redis: { ...redis, 'src/harness.ts': REDIS_HARNESS },
      'redis-without-hook': { 'src/app.module.ts': withoutHook, 'src/harness.ts': REDIS_HARNESS },
    };
    for (const [project, files] of Object.entries(projects)) {
      writeProject(project, files);
      compiled.set(project, compile(project));
    }
  }, 120_000);

  afterAll(async () => {
    processes.forEach((child) => child.kill());
    await Promise.all(servers.map((server) => server.stop()));
    await Promise.all(compiled.values());
    packed?.remove();
  });

  it('marks exactly the blocks this test runs', () => {
    expect([...blocks.keys()].sort()).toEqual([...KNOWN_IDS].sort());
  });

  it('its one-line secret command prints 32 random bytes in base64url (the apps below boot with it)', () => {
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it(
    'Quick start: compiles, starts with node, serves login → me → logout (with the CSRF token) → 401',
    async () => {
      const server = await quickStartServer();
      const json = { 'content-type': 'application/json' };

      expect((await fetch(`${server.url}/me`)).status).toBe(401);
      const wrong = await fetch(`${server.url}/auth/login`, {
        method: 'POST',
        headers: json,
        body: JSON.stringify({ username: 'alice', password: 'wrong' }),
      });
      expect(wrong.status).toBe(401);

      const login = await fetch(`${server.url}/auth/login`, {
        method: 'POST',
        headers: json,
        body: JSON.stringify({ username: 'alice', password: 'alice-password' }),
      });
      expect(login.status).toBe(200);
      const { userId, csrfToken } = (await login.json()) as { userId: string; csrfToken: string };
      expect(userId).toBe('alice');
      expect(csrfToken).toEqual(expect.any(String));
      const [setCookie] = sessionSetCookies(login);
      expect(setCookie.split(';').map((part) => part.trim().toLowerCase())).toEqual(
        expect.arrayContaining(['secure', 'httponly', 'samesite=lax', 'path=/']),
      );
      // The cookie is `Secure` and this is plain HTTP: send it as a raw header, as a browser
      // on http://localhost would.
      const cookie = sessionCookieOf(login);

      const me = await fetch(`${server.url}/me`, { headers: { cookie } });
      expect(me.status).toBe(200);
      expect(await me.json()).toEqual({ userId: 'alice', roles: ['user'] });

      // What the README says: a logged-in POST needs the token.
      const noToken = await fetch(`${server.url}/auth/logout`, {
        method: 'POST',
        headers: { cookie },
      });
      expect(noToken.status).toBe(403);
      expect(((await noToken.json()) as { message: string }).message).toMatch(/CSRF token/);
      expect((await fetch(`${server.url}/me`, { headers: { cookie } })).status).toBe(200);

      const logout = await fetch(`${server.url}/auth/logout`, {
        method: 'POST',
        headers: { cookie, 'x-csrf-token': csrfToken },
      });
      expect(logout.status).toBe(200);
      expect(await logout.json()).toEqual({ loggedOut: true });
      expect(sessionSetCookies(logout)[0]).toMatch(/;\s*Max-Age=0(;|$)/i);

      expect((await fetch(`${server.url}/me`, { headers: { cookie } })).status).toBe(401);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'Calling from a front end: the token from GET /auth/csrf, in x-csrf-token or a _csrf form field',
    async () => {
      const server = await quickStartServer();

      // A page loads and asks for the token before anyone has logged in: no session is kept
      // (nothing to protect yet), and sending that token with the first login does no harm.
      const first = await fetch(`${server.url}/auth/csrf`);
      expect(first.status).toBe(200);
      expect(sessionSetCookies(first)).toEqual([]);
      const { csrfToken: anonymousToken } = (await first.json()) as { csrfToken: string };

      const credentials = JSON.stringify({ username: 'alice', password: 'alice-password' });
      const login = await fetch(`${server.url}/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-csrf-token': anonymousToken },
        body: credentials,
      });
      expect(login.status).toBe(200);
      const cookie = sessionCookieOf(login);
      const { csrfToken } = (await login.json()) as { csrfToken: string };
      expect(csrfToken).not.toBe(anonymousToken);

      // After a reload: the same token again from GET /auth/csrf.
      const again = await fetch(`${server.url}/auth/csrf`, { headers: { cookie } });
      expect(await again.json()).toEqual({ csrfToken });

      // A second login needs the session's token: none, or another one, is refused.
      const json = { 'content-type': 'application/json', cookie };
      for (const headers of [json, { ...json, 'x-csrf-token': anonymousToken }]) {
        const refused = await fetch(`${server.url}/auth/login`, {
          method: 'POST',
          headers,
          body: credentials,
        });
        expect(refused.status).toBe(403);
      }
      const relogin = await fetch(`${server.url}/auth/login`, {
        method: 'POST',
        headers: { ...json, 'x-csrf-token': csrfToken },
        body: credentials,
      });
      expect(relogin.status).toBe(200);
      const newCookie = sessionCookieOf(relogin);
      const { csrfToken: newToken } = (await relogin.json()) as { csrfToken: string };
      // Fixation-proof: the login replaced the session, the old cookie is dead.
      expect(newCookie).not.toBe(cookie);
      expect((await fetch(`${server.url}/me`, { headers: { cookie } })).status).toBe(401);

      // A form posts it as _csrf.
      const form = await fetch(`${server.url}/auth/logout`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: newCookie },
        body: new URLSearchParams({ _csrf: newToken }).toString(),
      });
      expect(form.status).toBe(200);
      expect((await fetch(`${server.url}/me`, { headers: { cookie: newCookie } })).status).toBe(
        401,
      );
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'Typing session data: augments the package types; a wrong value fails; without export {} the types are replaced',
    async () => {
      const typed = await compiledProject('typing');
      expect(typed.output).toBe('');
      expect(typed.ok).toBe(true);

      const misuse = await compiledProject('typing-misuse');
      expect(misuse.ok).toBe(false);
      expect(misuse.output).toMatch(
        /src\/use\.ts\(\d+,\d+\): error TS2345: Argument of type 'number' is not assignable to parameter of type 'string\[\]'/,
      );
      expect(misuse.output.match(/error TS/g)).toHaveLength(1);

      // The control: the snippet as it was before (no `export {}`) hides the package's exports.
      const replaced = await compiledProject('typing-without-export');
      expect(replaced.ok).toBe(false);
      expect(replaced.output).toMatch(
        /error TS2305: Module '"nest-secure-session"' has no exported member 'SessionHandle'/,
      );
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'RedisStore: the example starts against the real Redis, and its process exits by itself after app.close()',
    async () => {
      const results = await Promise.all([
        compiledProject('redis'),
        compiledProject('redis-without-hook'),
      ]);
      for (const result of results) {
        expect(result.output).toBe('');
      }
      const env = { SESSION_SECRET: secret, REDIS_URL };
      const start = (project: string): WatchedProcess => {
        const child = watchNode(join('dist', 'harness.js'), join(appDir, project), env);
        processes.push(child);
        return child;
      };
      const withHook = start('redis');
      const withoutHook = start('redis-without-hook');

      await Promise.all(
        [withHook, withoutHook].map((child) => child.waitFor('app closed', 20_000)),
      );
      const [exit, control] = await Promise.all([
        withHook.exitWithin(EXIT_WITHIN_MS),
        withoutHook.exitWithin(EXIT_WITHIN_MS),
      ]);
      expect({ exit, output: withHook.output() }).toEqual({
        exit: 0,
        output: 'redis round trip done\napp closed\n',
      });
      // The control: without the README's onApplicationShutdown the open client keeps the
      // process alive, so the check above has teeth.
      withoutHook.kill();
      expect(control).toBe('running');
    },
    TEST_TIMEOUT_MS,
  );
});
