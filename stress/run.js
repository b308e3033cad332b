// `npm run stress`: reliability figures of the built sample app, on real processes and sockets,
// on Express and on Fastify. Not part of `npm test`. Exits non-zero when a check fails.
//   1. fuzz:  malformed and forged cookies and Authorization headers on every route, with
//             server-side (MemoryStore) and stateless (SESSION_STORE=cookie) sessions:
//             0 × 5xx, 0 authentications, nothing of the victims' in any answer
//   2. redis: a private redis-server SIGKILLed and restarted under load, the apps left running:
//             0 × 5xx but 503, 503 only while down, public routes 200, recovery ≤ 1 s
//   3. soak:  login / read / write / logout traffic; the apps' heap (and RSS) must level off
//
// Environment (all optional):
//   STRESS_ONLY=fuzz,redis,soak   STRESS_PLATFORMS=express,fastify   STRESS_SKIP_BUILD=1
//   STRESS_FUZZ_REQUESTS=100000 (per platform)   STRESS_FUZZ_CONNECTIONS=16   STRESS_SEED=<n>
//   STRESS_REDIS_KILLS=6   STRESS_REDIS_DOWN_MS=500,1000,2000,3000,5000,8000
//   STRESS_REDIS_MAX_RECOVERY_MS=1000   STRESS_TRACE=1 (every probe answer around each restart)
//   STRESS_SOAK_SECONDS=600   STRESS_SOAK_USERS=8 (per app)
//   STRESS_SOAK_MAX_HEAP_SLOPE=1, STRESS_SOAK_MAX_RSS_SLOPE=4 (MiB per minute over the second half)
// A short run for CI (about 3 minutes):
//   STRESS_FUZZ_REQUESTS=5000 STRESS_REDIS_KILLS=3 STRESS_SOAK_SECONDS=30 npm run stress
import { spawnSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import process from 'node:process';
import { ROOT } from './processes.js';
import { log } from './stats.js';

const env = process.env;
const list = (value, fallback) =>
  value === undefined || value === '' ? fallback : value.split(',').map((item) => item.trim());
const number = (value, fallback) =>
  value === undefined || value === '' ? fallback : Number(value);

const config = {
  only: list(env.STRESS_ONLY, ['fuzz', 'redis', 'soak']),
  platforms: list(env.STRESS_PLATFORMS, ['express', 'fastify']),
  fuzzRequests: number(env.STRESS_FUZZ_REQUESTS, 100_000),
  fuzzConnections: number(env.STRESS_FUZZ_CONNECTIONS, 16),
  redisKills: number(env.STRESS_REDIS_KILLS, 6),
  redisDownMs: list(env.STRESS_REDIS_DOWN_MS, ['500', '1000', '2000', '3000', '5000', '8000']).map(
    Number,
  ),
  redisMaxRecoveryMs: number(env.STRESS_REDIS_MAX_RECOVERY_MS, 1_000),
  redisConnections: 4,
  redisWarmupMs: 2_000,
  redisUpMs: 2_000,
  soakSeconds: number(env.STRESS_SOAK_SECONDS, 600),
  soakUsers: number(env.STRESS_SOAK_USERS, 8),
  soakMaxHeapSlope: number(env.STRESS_SOAK_MAX_HEAP_SLOPE, 1),
  soakMaxRssSlope: number(env.STRESS_SOAK_MAX_RSS_SLOPE, 4),
};

function build() {
  if (env.STRESS_SKIP_BUILD === '1') {
    log('· build skipped (STRESS_SKIP_BUILD=1)');
    return;
  }
  for (const script of ['build', 'sample:build']) {
    log(`· npm run ${script}`);
    const result = spawnSync('npm', ['run', script, '--silent'], {
      cwd: ROOT,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    if (result.status !== 0) {
      throw new Error(`npm run ${script} failed`);
    }
  }
}

const started = Date.now();
const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' / ');
log(
  `nest-secure-session stress: Node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model.trim() ?? '?'}), load ${load()}`,
);
build();

const failures = [];
const phases = {
  fuzz: async () => (await import('./fuzz.js')).runFuzz(config),
  redis: async () => (await import('./redis-outage.js')).runRedisOutage(config),
  soak: async () => (await import('./soak.js')).runSoak(config),
};
for (const name of config.only) {
  if (phases[name] === undefined) {
    throw new Error(`unknown phase ${name}; known: ${Object.keys(phases).join(', ')}`);
  }
}
for (const name of config.only) {
  log();
  log(`=== ${name} ${'='.repeat(70 - name.length)} (load ${load()})`);
  const phaseStarted = Date.now();
  try {
    const result = await phases[name]();
    failures.push(...result.failures.map((failure) => `${name}: ${failure}`));
  } catch (error) {
    failures.push(`${name}: ${error?.stack ?? error}`);
  }
  log(`(${name}: ${Math.round((Date.now() - phaseStarted) / 1000)} s)`);
}

log();
log(`=== verdict (${Math.round((Date.now() - started) / 1000)} s, load ${load()})`);
if (failures.length === 0) {
  log('PASS');
} else {
  const shown = failures.slice(0, 50);
  log(`FAIL: ${failures.length} problem(s)${failures.length > shown.length ? ', first 50:' : ':'}`);
  for (const failure of shown) {
    log(`  - ${failure}`);
  }
  process.exitCode = 1;
}
