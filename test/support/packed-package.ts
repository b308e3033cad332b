import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, relative } from 'node:path';
import { PROJECT_ROOT, runCommand, runNpm } from './sample-process.js';

/**
 * `npm install` into a scratch app: from the npm cache when it has the package (the
 * repository's own `npm ci` filled it), no audit, no funding notice.
 */
export const INSTALL_ARGS = ['install', '--prefer-offline', '--no-audit', '--no-fund'] as const;
/** How long one `npm install` into a scratch app may take. */
export const INSTALL_TIMEOUT_MS = 150_000;

/** The library as users get it: built, packed with `npm pack`, in a temp dir of its own. */
export interface PackedLibrary {
  /** The temp dir (outside the repository) holding the tarball; scratch apps go under it. */
  readonly workDir: string;
  /** Absolute path of the `.tgz`. */
  readonly tarball: string;
  /** Deletes `workDir` and everything in it. */
  remove(): void;
}

/**
 * Packs the library as a fresh clone of this repository would (no dist/: the `prepack` script
 * builds it) into a new temp dir whose name starts with `nest-secure-session-<label>-`.
 */
export async function packLibrary(label: string): Promise<PackedLibrary> {
  const workDir = realpathSync(mkdtempSync(join(tmpdir(), `nest-secure-session-${label}-`)));
  try {
    const clone = join(workDir, 'clone');
    await copyAsFreshClone(clone);
    if (existsSync(join(clone, 'dist'))) {
      throw new Error('The fresh-clone copy has a dist/: the pack would not prove prepack builds');
    }
    // `--json` sends the prepack build's output to stderr: stdout is the JSON alone.
    const packed = await runNpm(['pack', '--json', '--pack-destination', workDir], clone);
    const [{ filename }] = JSON.parse(packed.stdout) as [{ filename: string }];
    return {
      workDir,
      tarball: join(workDir, filename),
      remove: () => rmSync(workDir, { recursive: true, force: true }),
    };
  } catch (error) {
    rmSync(workDir, { recursive: true, force: true });
    throw error;
  }
}

/**
 * Copies the files a fresh clone of this repository would have (tracked, plus new files not
 * ignored: no dist/, no node_modules) into `dir`, and links this checkout's node_modules
 * there so that the build can run without an install.
 */
async function copyAsFreshClone(dir: string): Promise<void> {
  const { stdout } = await runCommand(
    'git',
    ['ls-files', '-z', '--cached', '--others', '--exclude-standard'],
    { cwd: PROJECT_ROOT },
  );
  for (const file of stdout.split('\0')) {
    if (file !== '' && existsSync(join(PROJECT_ROOT, file))) {
      mkdirSync(dirname(join(dir, file)), { recursive: true });
      cpSync(join(PROJECT_ROOT, file), join(dir, file));
    }
  }
  symlinkSync(join(PROJECT_ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
}

/**
 * Creates the directory `<workDir>/<name>` (refused inside the repository, where packages could
 * resolve back to the source tree) and, unless `manifest` is `null`, its package.json.
 */
export function createScratchDir(
  packed: PackedLibrary,
  name: string,
  manifest: Record<string, unknown> | null = {},
): string {
  const dir = join(packed.workDir, name);
  const fromProject = relative(PROJECT_ROOT, dir);
  if (!fromProject.startsWith('..') && !isAbsolute(fromProject)) {
    throw new Error(`A scratch app must live outside the repository, not in ${dir}`);
  }
  mkdirSync(dir);
  if (manifest !== null) {
    writeFileSync(
      join(dir, 'package.json'),
      JSON.stringify({ name, version: '0.0.0', private: true, ...manifest }, null, 2),
    );
  }
  return dir;
}

/**
 * Creates `<workDir>/<name>` with a package.json of module `type` and installs the tarball
 * and `dependencies` (npm specs) there.
 */
export async function installScratchApp(
  packed: PackedLibrary,
  name: string,
  type: 'module' | 'commonjs',
  dependencies: readonly string[],
): Promise<string> {
  const dir = createScratchDir(packed, name, { type });
  await runNpm([...INSTALL_ARGS, packed.tarball, ...dependencies], dir, INSTALL_TIMEOUT_MS);
  return dir;
}

/**
 * Links `<dir>/node_modules/<name>` to this repository's installed copy of each package, for
 * scratch apps that need what the repository has already installed (Nest, TypeScript…) without
 * installing it again. Run it after the app's last `npm install`, which would prune the links.
 * Throws for a package the repository does not have.
 */
export function linkProjectPackages(dir: string, names: readonly string[]): void {
  for (const name of names) {
    const target = join(PROJECT_ROOT, 'node_modules', name);
    if (!existsSync(join(target, 'package.json'))) {
      throw new Error(
        `${name} is not installed in this repository; add it to devDependencies to use it in a scratch app`,
      );
    }
    const link = join(dir, 'node_modules', name);
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(target, link, 'dir');
  }
}
