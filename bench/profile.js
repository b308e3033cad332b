// Where the time goes: runs one or more variants under `node --cpu-prof` with the same load as
// the benchmark and prints self and inclusive time of the measured window only.
//
//   node bench/profile.js <variant[,variant…]> <route> [seconds]
//   e.g. node bench/profile.js bare,nss-memory me 8
//   BENCH_NODE=24 node bench/profile.js nss-memory me   (the app on Node 24, as bench/run.js does)
//
// Profiles are written to bench/profiles/<variant>-<route>.cpuprofile (open them in Chrome
// DevTools › Performance, or VS Code). Run `npm run build` first: this script uses dist/.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { closeAgent } from './http-client.js';
import { nodeLine } from './node-lines.js';
import { ROUTES, checkVariant, freshSessions, loadRun, startVariant } from './load.js';
import { startRedis } from './redis-server.js';
import { variantNamed } from './variants.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = dirname(HERE);
const OUT = join(HERE, 'profiles');

function log(line = '') {
  process.stdout.write(`${line}\n`);
}

/** Which part of the stack a frame belongs to. */
function areaOf(callFrame) {
  const { url, functionName } = callFrame;
  if (!url) {
    return functionName.startsWith('(') ? functionName : '(native)';
  }
  if (url.startsWith('node:')) {
    return `node:${url.slice(5).split('/')[0]}`;
  }
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const parts = url.slice(modules + 14).split('/');
    return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
  }
  if (url.includes(`${ROOT}/dist/`)) {
    return 'nest-secure-session';
  }
  if (url.includes(`${ROOT}/bench/`)) {
    return 'bench app';
  }
  return url;
}

function frameKey(callFrame) {
  const file = callFrame.url ? callFrame.url.replace(`file://${ROOT}/`, '') : '';
  return `${callFrame.functionName || '(anonymous)'} ${file}${file ? `:${callFrame.lineNumber + 1}` : ''}`;
}

/** Self and inclusive time per function and per area, within [fromUs, toUs] of the clock. */
export function analyze(profile, fromUs, toUs) {
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map();
  for (const node of profile.nodes) {
    for (const child of node.children ?? []) {
      parent.set(child, node.id);
    }
  }
  const self = new Map();
  const inclusive = new Map();
  const areas = new Map();
  // Each sample charged to the nearest nest-secure-session frame above it (its own code plus
  // what it calls: crypto, the store, rxjs it sets up), the middleware's pass-through left out.
  const library = new Map();
  const isLibrary = (frame) =>
    frame.url.includes(`${ROOT}/dist/`) && !frame.url.endsWith('/session.middleware.js');
  let total = 0;
  let time = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    time += profile.timeDeltas[i];
    const next = profile.timeDeltas[i + 1] ?? 0;
    if (time < fromUs || time > toUs) {
      continue;
    }
    const weight = next > 0 ? next : 0;
    const node = nodes.get(profile.samples[i]);
    total += weight;
    const key = frameKey(node.callFrame);
    self.set(key, (self.get(key) ?? 0) + weight);
    const area = areaOf(node.callFrame);
    areas.set(area, (areas.get(area) ?? 0) + weight);
    for (let id = node.id; id !== undefined; id = parent.get(id)) {
      const frame = nodes.get(id).callFrame;
      if (isLibrary(frame)) {
        const owner = frameKey(frame);
        library.set(owner, (library.get(owner) ?? 0) + weight);
        break;
      }
    }
    const seen = new Set();
    for (let id = node.id; id !== undefined; id = parent.get(id)) {
      const frame = nodes.get(id).callFrame;
      const frameName = frameKey(frame);
      if (frame.functionName === '(root)' || seen.has(frameName)) {
        continue;
      }
      seen.add(frameName);
      inclusive.set(frameName, (inclusive.get(frameName) ?? 0) + weight);
    }
  }
  const top = (map, count) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, count)
      .map(([name, us]) => ({ name, ms: us / 1000, share: total > 0 ? us / total : 0 }));
  return {
    totalMs: total / 1000,
    self: top(self, 300),
    inclusive: top(inclusive, 400),
    library: top(library, 40),
    areas: top(areas, 20),
  };
}

function printTable(title, rows, requests) {
  log(`  ${title}`);
  for (const row of rows) {
    const perRequest = ((row.ms * 1000) / requests).toFixed(1).padStart(6);
    log(`    ${(row.share * 100).toFixed(1).padStart(5)}%  ${perRequest} µs/req  ${row.name}`);
  }
}

async function profileVariant(name, route, seconds, redis) {
  const secret = randomBytes(32).toString('base64url');
  mkdirSync(OUT, { recursive: true });
  const file = `${name}-${route}-${line.id}.cpuprofile`;
  const before = new Set(readdirSync(OUT));
  const variant = await startVariant(name, {
    secret,
    redisPort: redis?.port ?? 0,
    execArgv: ['--cpu-prof', '--cpu-prof-dir', OUT],
    node: line.bin,
  });
  if (variant.status !== 'ready') {
    log(`${name}: ${variant.status}: ${variant.reason}`);
    await variant.stop?.();
    return null;
  }
  try {
    const check = await checkVariant({ ...variant });
    if (!check.ok) {
      log(`${name}: check failed: ${check.failures.join('; ')}`);
    }
    const options = { connections: 50, redisPid: redis?.pid };
    const sessions = ROUTES[route].session ? await freshSessions(variant, 50) : [];
    await loadRun(variant, route, { ...options, duration: 2, sessions }); // warm-up
    const from = Number(process.hrtime.bigint() / 1000n);
    const run = await loadRun(variant, route, { ...options, duration: seconds, sessions });
    const to = Number(process.hrtime.bigint() / 1000n);
    await variant.stop();
    const written = readdirSync(OUT).find(
      (entry) => !before.has(entry) && entry.endsWith('.cpuprofile'),
    );
    if (written === undefined) {
      log(`${name}: no profile written`);
      return null;
    }
    renameSync(join(OUT, written), join(OUT, file));
    const profile = JSON.parse(readFileSync(join(OUT, file), 'utf8'));
    const analysis = analyze(profile, from, to);
    writeFileSync(
      join(OUT, file.replace('.cpuprofile', '.summary.cpuprofile')),
      JSON.stringify({ run, analysis }),
    );
    return { name, run, analysis, file };
  } finally {
    await variant.stop();
  }
}

const [variantsArg, route = 'me', secondsArg = '8'] = process.argv.slice(2);
if (!variantsArg || !ROUTES[route]) {
  log(
    `usage: node bench/profile.js <variant[,variant…]> <${Object.keys(ROUTES).join('|')}> [seconds]`,
  );
  process.exit(2);
}
const names = variantsArg.split(',');
const line = nodeLine(process.env.BENCH_NODE ?? 'system', log);
const redis = names.some((name) => variantNamed(name)?.redis) ? await startRedis() : null;
try {
  for (const name of names) {
    const result = await profileVariant(name, route, Number(secondsArg), redis);
    if (result === null) {
      continue;
    }
    const { run, analysis } = result;
    log();
    log(
      `${name} on ${line.label} (${line.version}) ${ROUTES[route].title}: ${Math.round(run.rps)} req/s, app CPU ${run.cpuUsPerRequest.toFixed(0)} µs/req${run.void ? ' (VOID run)' : ''}; ${analysis.totalMs.toFixed(0)} ms sampled; bench/profiles/${result.file}`,
    );
    printTable('by area (self time)', analysis.areas, run.total);
    printTable(
      'charged to the nearest nest-secure-session frame (its code and what it calls)',
      analysis.library,
      run.total,
    );
    printTable('by function (self time)', analysis.self.slice(0, 25), run.total);
    printTable('by function (inclusive time)', analysis.inclusive.slice(0, 60), run.total);
  }
} finally {
  await redis?.stop();
  closeAgent();
}
