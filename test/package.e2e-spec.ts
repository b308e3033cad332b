import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { installScratchApp, packLibrary, type PackedLibrary } from './support/packed-package.js';
import {
  PROJECT_ROOT,
  runCommand,
  startNodeServer,
  type NodeServer,
} from './support/sample-process.js';

/**
 * What users install: the library packed with `npm pack` from a copy of the repository as a
 * fresh clone has it (no dist/: the `prepack` script builds it), installed from the tarball
 * into scratch apps outside this repository (so nothing resolves back to the source tree),
 * and booted with plain `node`.
 */

const COOKIE_NAME = '__Host-sid';
const TEST_TIMEOUT_MS = 180_000;

/**
 * The scratch app's controller and module, written without decorator syntax (plain JS runs
 * no TypeScript): the same decorator factories, applied by hand. `IMPORTS` brings `Body`,
 * `Controller`, `Get`, `HttpCode`, `Inject`, `Module`, `Post`, `NestFactory` and, from
 * 'nest-secure-session' only, `Public`, `Session`, `SessionModule`, `SessionService`.
 */
const APP_BODY = `
class AuthController {
  constructor(sessions) {
    this.sessions = sessions;
  }
  async login(body) {
    const session = await this.sessions.login(String(body.userId), { roles: ['user'] });
    // csrfToken is undefined (left out of the JSON) while the library has no CSRF layer.
    return { userId: session.userId, csrfToken: session.csrfToken };
  }
  me(session) {
    return { userId: session.userId };
  }
  async logout() {
    await this.sessions.logout();
    return { loggedOut: true };
  }
}
const decorateMethod = (name, ...decorators) =>
  Reflect.decorate(
    decorators,
    AuthController.prototype,
    name,
    Object.getOwnPropertyDescriptor(AuthController.prototype, name),
  );
Inject(SessionService)(AuthController, undefined, 0);
Body()(AuthController.prototype, 'login', 0);
decorateMethod('login', Public(), Post('login'), HttpCode(200));
Session()(AuthController.prototype, 'me', 0);
decorateMethod('me', Get('me'));
decorateMethod('logout', Post('logout'), HttpCode(200));
Controller()(AuthController);

class AppModule {}
Module({
  imports: [SessionModule.forRoot({ secret: 'Zq8!mW3@rT6#yU1$iO4%pA7^sD2&fG5*', global: true })],
  controllers: [AuthController],
})(AppModule);

async function bootstrap() {
  const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] });
  await app.listen(Number(process.env.PORT), process.env.HOST);
  console.log('listening on ' + process.env.PORT);
}
`;

const ESM_APP = `import 'reflect-metadata';
import { Body, Controller, Get, HttpCode, Inject, Module, Post } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Public, Session, SessionModule, SessionService } from 'nest-secure-session';

console.log('resolved nest-secure-session: ' + new URL(import.meta.resolve('nest-secure-session')).pathname);
${APP_BODY}
await bootstrap();
`;

const CJS_APP = `'use strict';
require('reflect-metadata');
const { Body, Controller, Get, HttpCode, Inject, Module, Post } = require('@nestjs/common');
const { NestFactory } = require('@nestjs/core');
// An ES module loaded with require(): Node >= 20.19 allows it when the module graph has no
// top-level await.
const { Public, Session, SessionModule, SessionService } = require('nest-secure-session');

console.log('resolved nest-secure-session: ' + require.resolve('nest-secure-session'));
${APP_BODY}
bootstrap().catch((error) => {
  console.error(error);
  process.exit(1);
});
`;

/**
 * The compiler options `nest new` gives a NestJS 11 CommonJS project, with the module
 * resolution that `module: commonjs` implies spelled out: node10, which ignores `exports`.
 */
const NEST11_TSCONFIG = {
  compilerOptions: {
    module: 'commonjs',
    moduleResolution: 'node10',
    declaration: true,
    removeComments: true,
    emitDecoratorMetadata: true,
    experimentalDecorators: true,
    allowSyntheticDefaultImports: true,
    target: 'ES2023',
    sourceMap: true,
    outDir: './dist',
    skipLibCheck: true,
    strictNullChecks: true,
    forceConsistentCasingInFileNames: true,
    noImplicitAny: false,
  },
  include: ['src'],
};

/**
 * A Jest test of the CommonJS scratch app, in TypeScript (ts-jest compiles it to CommonJS): the
 * module in a Nest testing module, and 'nest-secure-session/testing' loaded. Its types come
 * from both entry points, so type-checking it under node10 needs typesVersions. (It does not
 * run the conformance suite: under this tsconfig, without esModuleInterop, its default import
 * of node:assert/strict does not survive the compilation to CommonJS; the README says so.)
 */
const CJS_JEST_SPEC = `import { Test } from '@nestjs/testing';
import { MemoryStore, SessionModule, SessionService } from 'nest-secure-session';
import {
  runSessionStoreConformance,
  type SessionStoreConformanceOptions,
} from 'nest-secure-session/testing';

describe('nest-secure-session in a CommonJS Jest test', () => {
  it('compiles SessionModule and injects SessionService', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [SessionModule.forRoot({ secret: 'Zq8!mW3@rT6#yU1$iO4%pA7^sD2&fG5*' })],
    }).compile();
    expect(moduleRef.get(SessionService)).toBeInstanceOf(SessionService);
    await moduleRef.close();
  });

  it('loads nest-secure-session/testing', () => {
    const options: SessionStoreConformanceOptions = {
      name: 'MemoryStore',
      createStore: () => new MemoryStore(),
    };
    expect(typeof runSessionStoreConformance).toBe('function');
    expect(options.createStore()).toBeInstanceOf(MemoryStore);
  });
});
`;

/** The `jest` block of the README's "CommonJS apps and Jest" subsection, parsed. */
function readmeJestConfig(): Record<string, unknown> {
  const readme = readFileSync(join(PROJECT_ROOT, 'README.md'), 'utf8');
  const section = readme.split('\n### CommonJS apps and Jest\n')[1]?.split('\n#')[0] ?? '';
  const block = /```json\n([\s\S]*?)\n```/.exec(section)?.[1];
  if (block === undefined) {
    throw new Error('README.md: no ```json block under "### CommonJS apps and Jest"');
  }
  return (JSON.parse(`{${block}}`) as { jest: Record<string, unknown> }).jest;
}

/** The tarball's file list, without tar's `package/` prefix. */
async function tarballEntries(tarball: string): Promise<string[]> {
  const { stdout } = await runCommand('tar', ['-tzf', tarball], { cwd: PROJECT_ROOT });
  return stdout
    .split('\n')
    .filter((line) => line !== '' && !line.endsWith('/'))
    .map((line) => line.replace(/^package\//, ''));
}

/** Every file path in an `exports` map. */
function exportTargets(exportsField: unknown): string[] {
  if (typeof exportsField === 'string') {
    return [exportsField];
  }
  if (typeof exportsField === 'object' && exportsField !== null) {
    return Object.values(exportsField).flatMap(exportTargets);
  }
  return [];
}

/** The value of the session cookie's `Set-Cookie` headers, all of them. */
function sessionSetCookies(response: Response): string[] {
  return response.headers.getSetCookie().filter((line) => line.startsWith(`${COOKIE_NAME}=`));
}

/**
 * Logs in, reads `/me`, logs out and replays the old cookie, asserting status codes and the
 * session cookie's `Set-Cookie` headers.
 */
async function exerciseSessionRoutes(server: NodeServer): Promise<void> {
  const json = { 'content-type': 'application/json' };

  const anonymous = await fetch(`${server.url}/me`);
  expect(anonymous.status).toBe(401);
  expect(sessionSetCookies(anonymous)).toEqual([]);

  const login = await fetch(`${server.url}/login`, {
    method: 'POST',
    headers: json,
    body: JSON.stringify({ userId: 'u1' }),
  });
  expect(login.status).toBe(200);
  const loginBody = (await login.json()) as { userId: string; csrfToken?: string };
  expect(loginBody.userId).toBe('u1');
  const issued = sessionSetCookies(login);
  expect(issued).toHaveLength(1);
  const attributes = issued[0].split(';').map((part) => part.trim().toLowerCase());
  expect(attributes).toEqual(
    expect.arrayContaining(['httponly', 'secure', 'samesite=lax', 'path=/']),
  );
  expect(attributes.some((part) => part.startsWith('domain='))).toBe(false);
  const cookie = issued[0].split(';')[0];
  expect(cookie.length).toBeGreaterThan(`${COOKIE_NAME}=`.length + 40);

  const me = await fetch(`${server.url}/me`, { headers: { cookie } });
  expect(me.status).toBe(200);
  expect(await me.json()).toEqual({ userId: 'u1' });

  const csrf: Record<string, string> =
    loginBody.csrfToken === undefined ? {} : { 'x-csrf-token': loginBody.csrfToken };
  const logout = await fetch(`${server.url}/logout`, {
    method: 'POST',
    headers: { ...json, ...csrf, cookie },
    body: '{}',
  });
  expect(logout.status).toBe(200);
  const cleared = sessionSetCookies(logout);
  expect(cleared).toHaveLength(1);
  expect(cleared[0]).toMatch(new RegExp(`^${COOKIE_NAME}=;`));
  expect(cleared[0]).toMatch(/;\s*Max-Age=0(;|$)/i);

  const replay = await fetch(`${server.url}/me`, { headers: { cookie } });
  expect(replay.status).toBe(401);
}

describe('the npm package (npm pack, installed into scratch apps)', () => {
  let packed: PackedLibrary | undefined;
  const servers: NodeServer[] = [];
  const tarballOf = () => (packed as PackedLibrary).tarball;

  beforeAll(async () => {
    packed = await packLibrary('package');
  }, 120_000);

  afterAll(async () => {
    await Promise.all(servers.map((server) => server.stop()));
    packed?.remove();
  });

  /** Creates `<workDir>/<name>` with a package.json, installs the tarball and `dependencies`. */
  function scratchApp(
    name: string,
    type: 'module' | 'commonjs',
    dependencies: string[],
  ): Promise<string> {
    return installScratchApp(packed as PackedLibrary, name, type, dependencies);
  }

  let cjsNest11: Promise<string> | undefined;
  /**
   * The CommonJS NestJS 11 scratch app, installed once for the tests that use it: Nest 11,
   * and what its starter tests with (Jest, ts-jest, TypeScript 5, @types/jest).
   */
  function cjsNest11App(): Promise<string> {
    cjsNest11 ??= scratchApp('cjs-nest11', 'commonjs', [
      '@nestjs/common@11',
      '@nestjs/core@11',
      '@nestjs/platform-express@11',
      '@nestjs/testing@11',
      'reflect-metadata',
      'rxjs',
      'class-validator',
      'jest@30',
      'ts-jest@29',
      'typescript@5',
      '@types/jest@30',
    ]).then((dir) => {
      writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(NEST11_TSCONFIG, null, 2));
      mkdirSync(join(dir, 'src'));
      writeFileSync(join(dir, 'src', 'session.spec.ts'), CJS_JEST_SPEC);
      return dir;
    });
    return cjsNest11;
  }

  it('builds dist when packed from a fresh clone and ships it with the LICENSE, without sources, tests or sample', async () => {
    const entries = await tarballEntries(tarballOf());
    const manifest = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as {
      main: string;
      types: string;
      exports: unknown;
    };
    expect(entries).toEqual(
      expect.arrayContaining(['package.json', 'dist/index.js', 'dist/index.d.ts']),
    );
    for (const target of [manifest.main, manifest.types, ...exportTargets(manifest.exports)]) {
      expect(entries).toContain(target.replace(/^\.\//, ''));
    }
    const unexpected = entries.filter(
      (entry) =>
        !entry.startsWith('dist/') &&
        entry !== 'package.json' &&
        !/^(README|LICENSE|LICENCE|CHANGELOG)(\.[a-z]+)?$/i.test(entry),
    );
    expect(unexpected).toEqual([]);
    expect(entries.filter((entry) => /\.spec\.|\.e2e-spec\.|\.test\./.test(entry))).toEqual([]);
    expect(entries.filter((entry) => /(^|\/)(lib|test|sample|bench)\//.test(entry))).toEqual([]);
    expect(entries.filter((entry) => entry.endsWith('.ts') && !entry.endsWith('.d.ts'))).toEqual(
      [],
    );

    expect(entries).toContain('LICENSE');
    const { stdout: license } = await runCommand('tar', ['-xzOf', tarballOf(), 'package/LICENSE'], {
      cwd: PROJECT_ROOT,
    });
    expect(license).toMatch(/^MIT License\n/);
    expect(license).toContain('Copyright (c) 2026 nest-secure-session contributors');
    expect(license).toContain('THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND');
  });

  it(
    'boots in a plain-JS ESM NestJS 12 app and serves login, me and logout',
    async () => {
      const dir = await scratchApp('esm-nest12', 'module', [
        '@nestjs/common@12',
        '@nestjs/core@12',
        '@nestjs/platform-express@12',
        'reflect-metadata',
        'rxjs',
        'class-validator',
      ]);
      const installed = JSON.parse(
        readFileSync(join(dir, 'node_modules/@nestjs/core/package.json'), 'utf8'),
      ) as { version: string };
      expect(installed.version).toMatch(/^12\./);
      writeFileSync(join(dir, 'main.js'), ESM_APP);
      const server = await startNodeServer({ script: 'main.js', cwd: dir, readyPath: '/me' });
      servers.push(server);
      expect(server.output()).toContain(
        `resolved nest-secure-session: ${join(dir, 'node_modules/nest-secure-session/dist/index.js')}`,
      );
      await exerciseSessionRoutes(server);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'is require()d by a CommonJS NestJS 11 app (require of ESM, Node >= 20.19) and serves the same routes',
    async () => {
      const dir = await cjsNest11App();
      writeFileSync(join(dir, 'main.js'), CJS_APP);
      const server = await startNodeServer({ script: 'main.js', cwd: dir, readyPath: '/me' });
      servers.push(server);
      expect(server.output()).toContain(
        `resolved nest-secure-session: ${join(dir, 'node_modules/nest-secure-session/dist/index.js')}`,
      );
      const installed = JSON.parse(
        readFileSync(join(dir, 'node_modules/@nestjs/core/package.json'), 'utf8'),
      ) as { version: string };
      expect(installed.version).toMatch(/^11\./);
      await exerciseSessionRoutes(server);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'type-checks imports of the package and of nest-secure-session/testing under moduleResolution node10 (typesVersions)',
    async () => {
      const dir = await cjsNest11App();
      const typescript = JSON.parse(
        readFileSync(join(dir, 'node_modules/typescript/package.json'), 'utf8'),
      ) as { version: string };
      expect(typescript.version).toMatch(/^5\./);
      const { stdout } = await runCommand(
        process.execPath,
        ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json', '--noEmit', '--listFiles'],
        { cwd: dir, timeoutMs: 60_000 },
      );
      const files = stdout.split('\n');
      const types = join(dir, 'node_modules/nest-secure-session/dist');
      expect(files).toEqual(
        expect.arrayContaining([join(types, 'index.d.ts'), join(types, 'testing/index.d.ts')]),
      );
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "runs a Jest test of the package in that app with the README's Jest configuration",
    async () => {
      const dir = await cjsNest11App();
      const manifestPath = join(dir, 'package.json');
      const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Record<string, unknown>;
      writeFileSync(
        manifestPath,
        JSON.stringify({ ...manifest, jest: readmeJestConfig() }, null, 2),
      );
      // No --experimental-vm-modules (childEnv drops this run's NODE_OPTIONS): a plain CommonJS
      // Jest, as such a project runs it.
      const { stderr } = await runCommand(
        process.execPath,
        ['node_modules/jest/bin/jest.js', '--ci', '--cacheDirectory', join(dir, '.jest-cache')],
        { cwd: dir, timeoutMs: 120_000 },
      );
      expect(stderr).toContain('PASS src/session.spec.ts');
      expect(stderr).toMatch(/Tests: +2 passed, 2 total/);
    },
    TEST_TIMEOUT_MS,
  );
});
