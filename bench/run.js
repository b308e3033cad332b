// `npm run bench`: builds the package, checks every variant, measures them interleaved, counts
// Redis commands, runs the MemoryStore micro-benchmark, writes bench/RESULTS.md and prints it.
//
// Environment (all optional):
//   BENCH_DURATION=4  BENCH_WARMUP=1  BENCH_ROUNDS=3  BENCH_CONNECTIONS=50  BENCH_COUNTED=1000
//   BENCH_VARIANTS=bare,nss-memory,…  BENCH_ROUTES=public,me,counter,login
//   BENCH_MEMORY_SIZES=1000,100000,1000000 (or 'none')  BENCH_SKIP_BUILD=1
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg, release, tmpdir, totalmem, type } from 'node:os';
import { dirname, join } from 'node:path';
import process from 'node:process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const OUT = join(ROOT, 'bench', 'RESULTS.md');
const env = process.env;
const list = (value, fallback) =>
  value === undefined || value === '' ? fallback : value.split(',').map((item) => item.trim());

const config = {
  duration: Number(env.BENCH_DURATION ?? 4),
  warmup: Number(env.BENCH_WARMUP ?? 1),
  rounds: Math.max(3, Number(env.BENCH_ROUNDS ?? 3)),
  connections: Number(env.BENCH_CONNECTIONS ?? 50),
  counted: Number(env.BENCH_COUNTED ?? 1000),
  routes: list(env.BENCH_ROUTES, ['public', 'me', 'counter', 'login']),
  memorySizes:
    env.BENCH_MEMORY_SIZES === 'none'
      ? []
      : list(env.BENCH_MEMORY_SIZES, ['1000', '100000', '1000000']).map(Number),
};

function log(line) {
  process.stdout.write(`${line}\n`);
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

// Imported after the build: app.js reads the package's exports and declarations.
const { VARIANTS } = await import('./app.js');
const { ROUTES, checkVariant, countRedisCommands, freshSessions, loadRun, startVariant } =
  await import('./load.js');
const { startMonitor, startRedis } = await import('./redis-server.js');
const { runMemoryBench } = await import('./memory-store.js');
const { renderReport } = await import('./report.js');
const { closeAgent } = await import('./http-client.js');

const selected = list(
  env.BENCH_VARIANTS,
  VARIANTS.map((variant) => variant.name),
);
for (const route of config.routes) {
  if (!ROUTES[route]) {
    throw new Error(`unknown route ${route}; known: ${Object.keys(ROUTES).join(', ')}`);
  }
}

// ---------------------------------------------------------------------------------------------
// 2. Versions and machine.

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
  variants: [],
  runs: {},
  redis: {},
  memory: null,
  meta: {},
};

try {
  const versions = [
    `@nestjs/core ${versionOf('@nestjs/core')}`,
    `@nestjs/platform-express ${versionOf('@nestjs/platform-express')}`,
    `express ${versionOf('express')}`,
    `express-session ${versionOf('express-session')}`,
    `connect-redis ${versionOf('connect-redis')} (client: redis ${versionOf('redis')})`,
    `iron-session ${versionOf('iron-session')}`,
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
    loadBefore: loadavg()
      .map((x) => x.toFixed(2))
      .join(' / '),
    config,
  };

  const variantCount = selected.length;
  const estimate =
    variantCount * config.routes.length * (config.rounds * config.duration + config.warmup) +
    (config.memorySizes.length > 0 ? 70 : 0) +
    40;
  log(
    `· ${variantCount} variants × ${config.routes.length} routes × ${config.rounds} rounds × ${config.duration} s (+ warm-up, checks, memory): about ${Math.round(estimate / 60)} min`,
  );

  redis = await startRedis();
  results.meta.redisVersion = redis.version;
  results.meta.redisPort = redis.port;
  log(`· redis-server ${redis.version} on 127.0.0.1:${redis.port} (pid ${redis.pid})`);

  // -------------------------------------------------------------------------------------------
  // 3. Start every variant in its own process, and check that it works.

  const secret = randomBytes(32).toString('base64url');
  const live = [];
  for (const variant of VARIANTS.filter((v) => selected.includes(v.name))) {
    const child = await startVariant(variant.name, { secret, redisPort: redis.port });
    const entry = {
      name: variant.name,
      label: variant.label,
      status: child.status,
      reason: child.reason,
      notes: child.notes,
      port: child.port,
      pid: child.pid,
    };
    results.variants.push(entry);
    if (child.status === 'ready') {
      children.push(child);
      entry.check = await checkVariant(entry);
      if (entry.check.ok) {
        live.push(entry);
        log(`· ${variant.name}: ready on port ${child.port} (pid ${child.pid}), check passed`);
      } else {
        log(`! ${variant.name}: check FAILED: ${entry.check.failures.join('; ')}`);
      }
    } else if (child.status === 'unavailable') {
      log(`· ${variant.name}: not available: ${child.reason}`);
    } else {
      log(`! ${variant.name}: failed to start: ${child.reason}`);
    }
  }

  // -------------------------------------------------------------------------------------------
  // 4. Redis commands per request type (before the load, on a quiet server).

  const redisVariants = live.filter((v) => v.name === 'nss-redis' || v.name === 'connect-redis');
  if (redisVariants.length > 0) {
    monitor = await startMonitor(redis.port, redis.client);
    for (const variant of redisVariants) {
      log(`· counting Redis commands: ${variant.name}, ${config.counted} requests per type`);
      try {
        results.redis[variant.name] = await countRedisCommands(
          variant,
          redis,
          monitor,
          config.counted,
        );
      } catch (error) {
        results.redis[variant.name] = { error: String(error?.message ?? error) };
        log(`! ${variant.name}: ${error?.message ?? error}`);
      }
    }
    monitor.stop();
    monitor = null;
  }

  // -------------------------------------------------------------------------------------------
  // 5. Load: warm-up, then rounds; in every round each route runs on every variant in turn.

  const measureOnce = async (variant, route, duration) => {
    const sessions = ROUTES[route].session ? await freshSessions(variant, config.connections) : [];
    const run = await loadRun(variant, route, {
      connections: config.connections,
      duration,
      sessions,
      redisPid: variant.name === 'nss-redis' || variant.name === 'connect-redis' ? redis.pid : 0,
    });
    await sleep(200);
    return run;
  };

  if (config.warmup > 0) {
    log(`· warm-up: ${config.warmup} s per route and variant`);
    for (const variant of live) {
      for (const route of config.routes) {
        await measureOnce(variant, route, config.warmup);
      }
    }
  }
  for (const route of config.routes) {
    results.runs[route] = Object.fromEntries(live.map((v) => [v.name, []]));
  }
  for (let round = 0; round < config.rounds; round++) {
    for (const route of config.routes) {
      // Rotate the order so that no variant always runs first or last.
      const order = live.map((_, i) => live[(i + round) % live.length]);
      const cells = [];
      for (const variant of order) {
        const run = await measureOnce(variant, route, config.duration);
        results.runs[route][variant.name].push(run);
        cells.push(`${variant.name} ${run.void ? 'VOID' : Math.round(run.rps)}`);
      }
      log(`· round ${round + 1}/${config.rounds} ${route}: ${cells.join(', ')}`);
    }
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
  // 7. Report.

  const seconds = Math.round((Date.now() - started) / 1000);
  results.meta.elapsed = `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
  results.meta.date = new Date().toISOString();
  results.meta.loadAfter = loadavg()
    .map((x) => x.toFixed(2))
    .join(' / ');
  const { markdown, targets } = renderReport(results);
  writeFileSync(OUT, markdown);
  const raw = join(tmpdir(), 'nss-bench-results.json');
  writeFileSync(raw, `${JSON.stringify(results, null, 2)}\n`);
  log('');
  log(markdown);
  log(`Written to ${OUT} (raw measurements: ${raw})`);
  const missed = targets.filter((t) => t.status !== 'PASS');
  log(
    `Targets: ${targets.length - missed.length} PASS, ${
      targets.filter((t) => t.status === 'MISS').length
    } MISS, ${targets.filter((t) => t.status === 'NOT RUN').length} NOT RUN`,
  );
} finally {
  await cleanUp();
}
