// BENCH_BASELINE=<git ref>: an older commit of the library, built beside this checkout so that
// the `base-*` variants can load it instead of dist/ in the same run (same rounds, same machine
// load, same Node lines) and the report can set new ÷ baseline per route.
//
// The commit's `lib/`, `package.json` and tsconfig files are extracted with `git archive` into
// <OS temp dir>/nss-bench-baseline/<commit>/ (outside the checkout: no linter, test runner or
// compiler of this checkout ever sees it), its `node_modules` is a link to this checkout's (so
// that Nest, ioredis… are the very same module instances as the bench app's), and it is built
// with its own `tsconfig.build.json` by this checkout's TypeScript. A build is reused while its
// stamp file names the same commit and its `node_modules` is this checkout's (a build made from
// another checkout would load a second copy of Nest, whose providers this app's Nest does not
// know).
import { execFileSync, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const STAMP = '.nss-bench-baseline';

function git(root, args, options = {}) {
  return execFileSync('git', args, { cwd: root, maxBuffer: 64 * 2 ** 20, ...options });
}

/**
 * Resolves `ref` to a commit and makes sure its build exists. Returns
 * `{ ref, commit, short, subject, dir, dist, state }`, where `dist` is the directory holding the
 * baseline's `index.js` (give it to the variants as BENCH_BASELINE_DIST).
 */
export function prepareBaseline(ref, root, log) {
  let commit;
  try {
    commit = git(root, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`])
      .toString()
      .trim();
  } catch {
    throw new Error(`BENCH_BASELINE=${ref}: not a commit of this repository`);
  }
  const short = commit.slice(0, 7);
  const subject = git(root, ['log', '-1', '--format=%s', commit]).toString().trim();
  const dir = join(tmpdir(), 'nss-bench-baseline', commit);
  const dist = join(dir, 'dist');
  const stamp = join(dir, STAMP);
  if (
    existsSync(join(dist, 'index.js')) &&
    existsSync(stamp) &&
    readFileSync(stamp, 'utf8').trim() === commit &&
    sameDirectory(join(dir, 'node_modules'), join(root, 'node_modules'))
  ) {
    log(`· baseline ${ref} (${short}): reusing its build in ${dir}`);
    return { ref, commit, short, subject, dir, dist, state: 'reused build' };
  }
  log(`· baseline ${ref} (${short} "${subject}"): extracting and building in ${dir}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const paths = ['lib', 'package.json', 'tsconfig.json', 'tsconfig.build.json'].filter((path) => {
    try {
      git(root, ['cat-file', '-e', `${commit}:${path}`], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  });
  if (!paths.includes('lib') || !paths.includes('tsconfig.build.json')) {
    throw new Error(`BENCH_BASELINE=${ref}: ${short} has no lib/ or no tsconfig.build.json`);
  }
  const archive = git(root, ['archive', '--format=tar', commit, ...paths]);
  const untar = spawnSync('tar', ['-x', '-C', dir], { input: archive });
  if (untar.status !== 0) {
    throw new Error(`BENCH_BASELINE=${ref}: tar failed: ${untar.stderr}`);
  }
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const built = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], {
    cwd: dir,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (built.status !== 0 || !existsSync(join(dist, 'index.js'))) {
    throw new Error(`BENCH_BASELINE=${ref}: the build of ${short} failed (see above)`);
  }
  writeFileSync(stamp, `${commit}\n`);
  return { ref, commit, short, subject, dir, dist, state: 'fresh build' };
}

/** Whether both paths lead to the same directory (`false` when either is missing). */
function sameDirectory(a, b) {
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
}
