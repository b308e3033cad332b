// MemoryStore micro-benchmark: heap per session and get/update latency at 1k, 100k and 1M
// sessions, each size in its own `node --expose-gc` process so that heaps do not mix.
//
//   node bench/memory-store.js [sizes…]        e.g. node bench/memory-store.js 1000 100000 1000000
//
// Records are shaped like the library's own (lib/interfaces/session-store.interface.ts
// SessionRecord): a SHA-256 id, a user id, encoded data values, five timestamps and a user agent,
// every string a separate allocation as it would be when it comes from a request.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

const SELF = fileURLToPath(import.meta.url);
export const DEFAULT_SIZES = [1_000, 100_000, 1_000_000];
const OPS = 100_000;
const ACTIVE = 1_000;
const IDLE_MS = 30 * 60_000;
const ABSOLUTE_MS = 12 * 3_600_000;

function idOf(index) {
  return createHash('sha256').update(`bench-token-${index}`).digest('base64url');
}

function recordOf(index, now) {
  return {
    id: idOf(index),
    // Two sessions per user (a laptop and a phone).
    userId: `user-${Math.floor(index / 2)}`,
    data: {
      roles: JSON.stringify(['user']),
      counter: JSON.stringify(index % 1000),
    },
    createdAt: now - (index % 3_600_000),
    lastSeenAt: now - (index % 60_000),
    authenticatedAt: now - (index % 3_600_000),
    expiresAt: now + IDLE_MS,
    absoluteExpiresAt: now + ABSOLUTE_MS,
    userAgent: `Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.${index % 10_000}.0 Safari/537.36`,
  };
}

/** Bytes of what a session says: its strings (UTF-8) and 8 bytes per timestamp. */
function payloadBytes(record) {
  let bytes = Buffer.byteLength(record.id) + Buffer.byteLength(record.userId ?? '');
  for (const [key, value] of Object.entries(record.data)) {
    bytes += Buffer.byteLength(key) + Buffer.byteLength(value);
  }
  return bytes + Buffer.byteLength(record.userAgent ?? '') + 5 * 8;
}

function heapUsed() {
  globalThis.gc();
  globalThis.gc();
  return process.memoryUsage().heapUsed;
}

async function measure(size) {
  const { MemoryStore } = await import('nest-secure-session');
  const now = Date.now();
  const baseline = heapUsed();
  const store = new MemoryStore({
    maxSessions: Math.max(size, 100_000),
    sweepIntervalMs: 3_600_000,
  });
  let payload = 0;
  const fillStart = process.hrtime.bigint();
  for (let index = 0; index < size; index++) {
    const record = recordOf(index, now);
    payload += payloadBytes(record);
    await store.set(record, IDLE_MS, {});
  }
  const fillNs = Number(process.hrtime.bigint() - fillStart);
  const filled = heapUsed();
  if (store.size !== size) {
    throw new Error(`store holds ${store.size} sessions, expected ${size}`);
  }

  // Two access patterns: uniform over the whole population (every request finds a cold
  // session: the worst case for CPU caches), and an active set of 1 000 sessions among all the
  // idle ones (the usual case; it isolates the cost of the store's size from cache misses).
  let seed = 42;
  const random = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
    return seed / 2_147_483_648;
  };
  const active = Array.from({ length: Math.min(ACTIVE, size) }, () => Math.floor(random() * size));
  const patterns = {
    uniform: Array.from({ length: OPS }, () => idOf(Math.floor(random() * size))),
    active: Array.from({ length: OPS }, () => idOf(active[Math.floor(random() * active.length)])),
  };
  const delta = { set: { counter: '7' }, deleted: [] };
  const ttl = IDLE_MS;
  const run = async (ids, count) => {
    let missing = 0;
    const getStart = process.hrtime.bigint();
    for (let i = 0; i < count; i++) {
      if ((await store.get(ids[i])) === null) {
        missing++;
      }
    }
    const getNs = Number(process.hrtime.bigint() - getStart);
    const touch = { lastSeenAt: Date.now(), expiresAt: Date.now() + IDLE_MS };
    const updateStart = process.hrtime.bigint();
    for (let i = 0; i < count; i++) {
      await store.update(ids[i], delta, touch, ttl);
    }
    const updateNs = Number(process.hrtime.bigint() - updateStart);
    return { getNs: getNs / count, updateNs: updateNs / count, missing };
  };
  const timed = {};
  for (const [name, ids] of Object.entries(patterns)) {
    await run(ids, OPS / 4); // warm-up
    const runs = [await run(ids, OPS), await run(ids, OPS), await run(ids, OPS)];
    const median = runs.sort((a, b) => a.getNs + a.updateNs - (b.getNs + b.updateNs))[1];
    if (runs.some((r) => r.missing > 0)) {
      throw new Error(`sessions missing during the timed ${name} run`);
    }
    timed[name] = median;
  }
  store.close();
  return {
    size,
    heapPerSession: (filled - baseline) / size,
    payloadPerSession: payload / size,
    overheadPerSession: (filled - baseline - payload) / size,
    fillNsPerSession: fillNs / size,
    getNs: timed.uniform.getNs,
    updateNs: timed.uniform.updateNs,
    getUpdateNs: timed.uniform.getNs + timed.uniform.updateNs,
    activeGetNs: timed.active.getNs,
    activeUpdateNs: timed.active.updateNs,
    activeGetUpdateNs: timed.active.getNs + timed.active.updateNs,
  };
}

/** Runs each size in a fresh `node --expose-gc` process; resolves to their results. */
export function runMemoryBench(sizes = DEFAULT_SIZES) {
  return sizes.map((size) => {
    const output = execFileSync(
      process.execPath,
      ['--expose-gc', '--max-old-space-size=8192', SELF, '--child', String(size)],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 20 },
    );
    return JSON.parse(output.trim().split('\n').pop());
  });
}

export function formatMemoryTable(results) {
  const base = results.find((r) => r.size === Math.min(...results.map((x) => x.size)));
  const ns = (value) => Math.round(value).toLocaleString('en-US');
  const rows = [
    '| sessions | heap / session | data / session | overhead / session | uniform: get / update / both ns | × smallest | 1 000 active: get / update / both ns | × smallest |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const r of results) {
    rows.push(
      `| ${r.size.toLocaleString('en-US')} | ${Math.round(r.heapPerSession)} B | ${Math.round(
        r.payloadPerSession,
      )} B | ${Math.round(r.overheadPerSession)} B | ${ns(r.getNs)} / ${ns(r.updateNs)} / ${ns(
        r.getUpdateNs,
      )} | ${(r.getUpdateNs / base.getUpdateNs).toFixed(2)}× | ${ns(r.activeGetNs)} / ${ns(
        r.activeUpdateNs,
      )} / ${ns(r.activeGetUpdateNs)} | ${(r.activeGetUpdateNs / base.activeGetUpdateNs).toFixed(2)}× |`,
    );
  }
  return rows.join('\n');
}

if (process.argv[1] === SELF) {
  if (process.argv[2] === '--child') {
    if (typeof globalThis.gc !== 'function') {
      throw new Error('run with node --expose-gc');
    }
    const result = await measure(Number(process.argv[3]));
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } else {
    const sizes = process.argv.slice(2).map(Number);
    const results = runMemoryBench(sizes.length > 0 ? sizes : DEFAULT_SIZES);
    process.stdout.write(`${formatMemoryTable(results)}\n`);
  }
}
