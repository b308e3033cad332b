import { beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { dirname, join, relative } from 'node:path';
import ts from 'typescript';
import { buildLibrary, PROJECT_ROOT, runCommand } from './support/sample-process.js';

/**
 * The package manifest keeps its promises (as `nestjs/config` checks): whatever `lib/` imports
 * is declared, and the built package resolves through its `exports` map.
 */

interface Manifest {
  name: string;
  main: string;
  types: string;
  exports: Record<string, unknown>;
  typesVersions?: Record<string, Record<string, string[]>>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  devDependencies?: Record<string, string>;
}

const manifest = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as Manifest;

/** One module specifier written in a source file. */
interface ModuleReference {
  file: string;
  specifier: string;
  /** Erased from the emitted JavaScript (`import type`, `export type`, `import('x').T`). */
  typeOnly: boolean;
  /** `import('x')` at run time: loaded only when that code runs. */
  dynamic: boolean;
}

/** `lib/**\/*.ts` without the unit tests: the library's sources. */
function librarySources(dir = join(PROJECT_ROOT, 'lib')): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      return librarySources(path);
    }
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts') ? [path] : [];
  });
}

/** Every module specifier in `file`: imports, re-exports, import types, `import()`, `require()`. */
function moduleReferences(file: string): ModuleReference[] {
  const source = ts.createSourceFile(
    file,
    readFileSync(file, 'utf8'),
    ts.ScriptTarget.Latest,
    true,
    ts.ScriptKind.TS,
  );
  const found: ModuleReference[] = [];
  const add = (node: ts.Node | undefined, typeOnly: boolean, dynamic = false): void => {
    if (node !== undefined && ts.isStringLiteralLike(node)) {
      found.push({ file: relative(PROJECT_ROOT, file), specifier: node.text, typeOnly, dynamic });
    }
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      add(node.moduleSpecifier, isTypeOnlyImport(node));
    } else if (ts.isExportDeclaration(node)) {
      add(node.moduleSpecifier, node.isTypeOnly);
    } else if (
      ts.isImportEqualsDeclaration(node) &&
      ts.isExternalModuleReference(node.moduleReference)
    ) {
      add(node.moduleReference.expression, node.isTypeOnly);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      add(node.argument.literal, true);
    } else if (ts.isModuleDeclaration(node) && ts.isStringLiteral(node.name)) {
      add(node.name, true);
    } else if (ts.isCallExpression(node)) {
      const [argument] = node.arguments;
      if (node.expression.kind === ts.SyntaxKind.ImportKeyword) {
        add(argument, false, true);
      } else if (ts.isIdentifier(node.expression) && node.expression.text === 'require') {
        add(argument, false);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** `import type …`, or only `type` named bindings: nothing left after compilation. */
function isTypeOnlyImport(node: ts.ImportDeclaration): boolean {
  const clause = node.importClause;
  if (clause === undefined) {
    return false; // `import 'x'`: a side-effect import runs.
  }
  if (clause.isTypeOnly) {
    return true;
  }
  const bindings = clause.namedBindings;
  return (
    clause.name === undefined &&
    bindings !== undefined &&
    ts.isNamedImports(bindings) &&
    bindings.elements.length > 0 &&
    bindings.elements.every((element) => element.isTypeOnly)
  );
}

/**
 * The library files (relative to the project root) that loading `entries` evaluates: the
 * entries and every file they reach through relative imports that survive compilation.
 */
function reachableFrom(entries: string[], references: ModuleReference[]): Set<string> {
  const seen = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) {
      return;
    }
    seen.add(file);
    for (const reference of references) {
      if (reference.file === file && !reference.typeOnly && reference.specifier.startsWith('.')) {
        visit(join(dirname(file), reference.specifier.replace(/\.js$/, '.ts')));
      }
    }
  };
  entries.forEach(visit);
  return seen;
}

/** `@scope/name/sub` → `@scope/name`; `name/sub` → `name`. */
function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

function isBare(specifier: string): boolean {
  return !specifier.startsWith('.') && !specifier.startsWith('/');
}

describe('package manifest', () => {
  const sources = librarySources();
  const references = sources.flatMap(moduleReferences);
  const bare = references.filter((reference) => isBare(reference.specifier));
  const dependencies = new Set(Object.keys(manifest.dependencies ?? {}));
  const peers = new Set(Object.keys(manifest.peerDependencies ?? {}));
  const optionalPeers = new Set(
    Object.entries(manifest.peerDependenciesMeta ?? {})
      .filter(([, meta]) => meta.optional === true)
      .map(([name]) => name),
  );

  it('finds the library sources and their imports', () => {
    expect(sources.map((file) => relative(PROJECT_ROOT, file))).toContain('lib/index.ts');
    expect(bare.map((reference) => reference.specifier)).toEqual(
      expect.arrayContaining(['@nestjs/common', '@nestjs/core']),
    );
  });

  it('imports Node built-ins only with the node: prefix', () => {
    const unprefixed = bare.filter(
      (reference) => isBuiltin(reference.specifier) && !reference.specifier.startsWith('node:'),
    );
    expect(unprefixed).toEqual([]);
  });

  it('imports only packages declared in dependencies or peerDependencies', () => {
    const undeclared = bare.filter(
      (reference) =>
        !reference.specifier.startsWith('node:') &&
        !dependencies.has(packageName(reference.specifier)) &&
        !peers.has(packageName(reference.specifier)),
    );
    expect(undeclared).toEqual([]);
  });

  it('does not load optional peers when the package is imported (types or import() only)', () => {
    // What `import 'nest-secure-session'` (and '/testing') loads: the files their entries reach
    // through value imports. The platform entries ('/ws', '/socket.io') load their own peer.
    const loaded = reachableFrom(['lib/index.ts', 'lib/testing/index.ts'], references);
    const eager = bare.filter(
      (reference) =>
        loaded.has(reference.file) &&
        optionalPeers.has(packageName(reference.specifier)) &&
        !reference.typeOnly &&
        !reference.dynamic,
    );
    expect(loaded.size).toBeGreaterThan(20);
    expect(eager).toEqual([]);
  });

  it('loads each WebSocket platform only from its own entry', () => {
    const platformOf = (entry: string) =>
      bare
        .filter(
          (reference) =>
            reachableFrom([entry], references).has(reference.file) &&
            optionalPeers.has(packageName(reference.specifier)) &&
            !reference.typeOnly,
        )
        .map((reference) => packageName(reference.specifier));
    expect(manifest.exports['./ws']).toBeDefined();
    expect(manifest.exports['./socket.io']).toBeDefined();
    expect(platformOf('lib/platform/ws.adapter.ts')).toEqual(['@nestjs/platform-ws']);
    expect(platformOf('lib/platform/socket-io.adapter.ts')).toEqual(['@nestjs/platform-socket.io']);
  });

  it('keeps every peer in devDependencies too, so the tests run against it', () => {
    const devDependencies = new Set(Object.keys(manifest.devDependencies ?? {}));
    expect([...peers].filter((peer) => !devDependencies.has(peer))).toEqual([]);
  });

  describe('the built package, resolved by name through its exports map', () => {
    interface Resolution {
      importUrl: string;
      requirePath: string;
      packageJsonUrl: string;
      names: string[];
      kinds: Record<string, string>;
      deepImport: string;
      platformEntries: Record<string, string[]>;
    }
    let resolution: Resolution;

    beforeAll(async () => {
      await buildLibrary();
      // A child process, because Jest maps 'nest-secure-session' to lib/index.ts. Node resolves
      // the name from the project directory by self-reference, through package.json `exports`.
      const script = `
        import { createRequire } from 'node:module';
        const require = createRequire(process.cwd() + '/');
        const api = await import('nest-secure-session');
        let deepImport = 'resolved';
        try {
          import.meta.resolve('nest-secure-session/dist/session.guard.js');
        } catch (error) {
          deepImport = error.code;
        }
        const platformEntries = {
          ws: Object.keys(await import('nest-secure-session/ws')).sort(),
          'socket.io': Object.keys(await import('nest-secure-session/socket.io')).sort(),
        };
        console.log(JSON.stringify({
          platformEntries,
          importUrl: import.meta.resolve('nest-secure-session'),
          requirePath: require.resolve('nest-secure-session'),
          packageJsonUrl: import.meta.resolve('nest-secure-session/package.json'),
          names: Object.keys(api).sort(),
          kinds: Object.fromEntries(Object.entries(api).map(([name, value]) => [name, typeof value])),
          deepImport,
        }));
      `;
      const { stdout } = await runCommand(
        process.execPath,
        ['--input-type=module', '--eval', script],
        { cwd: PROJECT_ROOT, timeoutMs: 30_000 },
      );
      resolution = JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as Resolution;
    }, 120_000);

    it('points main, types and every exports target at files that exist after the build', () => {
      const targets = [manifest.main, manifest.types, ...Object.values(manifest.exports)].flatMap(
        function flatten(target: unknown): string[] {
          if (typeof target === 'string') {
            return [target];
          }
          return typeof target === 'object' && target !== null
            ? Object.values(target).flatMap(flatten)
            : [];
        },
      );
      targets.push(
        ...Object.values(manifest.typesVersions ?? {}).flatMap((paths) =>
          Object.values(paths).flat(),
        ),
      );
      expect(targets).toEqual(expect.arrayContaining(['./dist/index.js', './dist/index.d.ts']));
      expect(targets.filter((target) => !existsSync(join(PROJECT_ROOT, target)))).toEqual([]);
    });

    it('maps every subpath export in typesVersions to its exported types, for moduleResolution node10', () => {
      // node10 (the default of `module: commonjs`) ignores `exports`; typesVersions is what it reads.
      const subpaths = Object.entries(manifest.exports).filter(
        ([subpath]) => subpath !== '.' && subpath !== './package.json',
      );
      expect(subpaths.map(([subpath]) => subpath)).toContain('./testing');
      const mapped = manifest.typesVersions?.['*'] ?? {};
      for (const [subpath, target] of subpaths) {
        const types = (target as { types?: string }).types;
        expect(types).toBeDefined();
        expect({ [subpath]: mapped[subpath.replace(/^\.\//, '')] }).toEqual({ [subpath]: [types] });
      }
      expect(Object.keys(mapped).sort()).toEqual(
        subpaths.map(([subpath]) => subpath.replace(/^\.\//, '')).sort(),
      );
    });

    it('resolves import and require of the package name to dist/index.js', () => {
      expect(manifest.name).toBe('nest-secure-session');
      expect(resolution.importUrl).toBe(
        new URL(`file://${join(PROJECT_ROOT, 'dist/index.js')}`).href,
      );
      expect(resolution.requirePath).toBe(join(PROJECT_ROOT, 'dist/index.js'));
      expect(resolution.packageJsonUrl).toBe(
        new URL(`file://${join(PROJECT_ROOT, 'package.json')}`).href,
      );
    });

    it('exposes the public API and nothing the source barrel does not', async () => {
      expect(resolution.kinds).toMatchObject({
        SessionModule: 'function',
        SessionService: 'function',
        SessionGuard: 'function',
        SessionHandle: 'function',
        MemoryStore: 'function',
        SessionStore: 'symbol',
        Public: 'function',
        Roles: 'function',
        Session: 'function',
        FreshSession: 'function',
        SessionOptionsError: 'function',
      });
      // Jest maps the name to lib/index.ts: the build must export exactly what the source does.
      const source = (await import('nest-secure-session')) as Record<string, unknown>;
      expect(resolution.names).toEqual(Object.keys(source).sort());
    });

    it('resolves the WebSocket entries to their session adapters', () => {
      expect(resolution.platformEntries).toEqual({
        ws: expect.arrayContaining(['SessionWsAdapter']),
        'socket.io': expect.arrayContaining(['SessionIoAdapter']),
      });
    });

    it('hides internal files: deep imports fail with ERR_PACKAGE_PATH_NOT_EXPORTED', () => {
      expect(resolution.deepImport).toBe('ERR_PACKAGE_PATH_NOT_EXPORTED');
    });

    it('gives TypeScript (NodeNext, ESM and CommonJS consumers) dist/index.d.ts and dist/testing/index.d.ts', () => {
      const options: ts.CompilerOptions = {
        module: ts.ModuleKind.NodeNext,
        moduleResolution: ts.ModuleResolutionKind.NodeNext,
      };
      const consumer = join(PROJECT_ROOT, 'consumer.ts');
      for (const [specifier, types] of [
        ['nest-secure-session', 'dist/index.d.ts'],
        ['nest-secure-session/testing', 'dist/testing/index.d.ts'],
      ]) {
        for (const mode of [ts.ModuleKind.ESNext, ts.ModuleKind.CommonJS] as const) {
          const { resolvedModule } = ts.resolveModuleName(
            specifier,
            consumer,
            options,
            ts.sys,
            undefined,
            undefined,
            mode,
          );
          expect(resolvedModule?.resolvedFileName).toBe(join(PROJECT_ROOT, types));
        }
      }
    });
  });
});
