// Turns the raw measurements into bench/RESULTS.md: tables, ratios and the issue's targets.
import { ANCHORS, VARIANTS } from './app.js';
import { formatMemoryTable } from './memory-store.js';
import { ROUTES } from './load.js';

export function median(values) {
  if (values.length === 0) {
    return NaN;
  }
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Median req/s and latency of one variant on one route; `void` when any of its runs was. */
export function summarize(runs = []) {
  const voids = runs.filter((run) => run.void);
  return {
    rounds: runs.length,
    void: runs.length === 0 || voids.length > 0,
    voidReason: voids
      .map((run) =>
        Object.entries(run.statusCodes)
          .filter(([code]) => !code.startsWith('2'))
          .map(([code, count]) => `${count}×${code}`)
          .concat(run.errors ? [`${run.errors} errors`] : [])
          .concat(run.timeouts ? [`${run.timeouts} timeouts`] : [])
          .join(' '),
      )
      .join('; '),
    rps: median(runs.map((run) => run.rps)),
    p50: median(runs.map((run) => run.p50)),
    p99: median(runs.map((run) => run.p99)),
    cpu: median(runs.map((run) => run.cpuUsPerRequest)),
    redisCpu: median(runs.map((run) => run.redisCpuUsPerRequest)),
    each: runs.map((run) => (run.void ? 'VOID' : Math.round(run.rps))),
  };
}

function summaries(results) {
  const table = {};
  for (const route of Object.keys(results.runs)) {
    table[route] = {};
    for (const [variant, runs] of Object.entries(results.runs[route])) {
      table[route][variant] = summarize(runs);
    }
  }
  return table;
}

const fmt = (value, digits = 2) => (Number.isFinite(value) ? value.toFixed(digits) : '–');
const ratio = (a, b) => (a && b && !a.void && !b.void ? a.rps / b.rps : NaN);
/** Throughput-equivalent ratio from CPU cost: how many of `a`'s requests fit in one of `b`'s CPU. */
const cpuRatio = (a, b) => (a && b && !a.void && !b.void ? b.cpu / a.cpu : NaN);

function routeTable(route, table) {
  const rows = [
    '| variant | req/s | p50 ms | p99 ms | × bare | × anchor | app CPU µs/req | CPU × bare | CPU × anchor | req/s per round |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  ];
  const bare = table.bare;
  for (const variant of VARIANTS) {
    const s = table[variant.name];
    if (s === undefined) {
      continue;
    }
    const anchorName = ANCHORS[variant.name];
    const anchor = anchorName ? table[anchorName] : undefined;
    const isBare = variant.name === 'bare';
    const anchorCell = (fn) =>
      anchorName ? `${fmt(fn(s, anchor))} (vs ${anchorName})` : isBare ? '' : 'anchor';
    const cpu =
      Number.isFinite(s.redisCpu) && s.redisCpu > 0
        ? `${fmt(s.cpu, 0)} (+ redis ${fmt(s.redisCpu, 0)})`
        : fmt(s.cpu, 0);
    rows.push(
      `| ${variant.label} | ${s.void ? `VOID (${s.voidReason})` : Math.round(s.rps)} | ${fmt(
        s.p50,
      )} | ${fmt(s.p99)} | ${isBare ? '1.00' : fmt(ratio(s, bare))} | ${anchorCell(ratio)} | ${cpu} | ${
        isBare ? '1.00' : fmt(cpuRatio(s, bare))
      } | ${anchorCell(cpuRatio)} | ${s.each.join(', ')} |`,
    );
  }
  return `### ${ROUTES[route].title}\n\n${rows.join('\n')}`;
}

function redisTable(redis) {
  const rows = [
    '| variant | request | client commands | round trips | INFO commandstats calls (incl. inside scripts) |',
    '| --- | --- | ---: | ---: | --- |',
  ];
  for (const [variant, types] of Object.entries(redis)) {
    if (types.error) {
      rows.push(`| ${variant} | – | – | – | failed: ${types.error} |`);
      continue;
    }
    for (const [type, r] of Object.entries(types)) {
      const breakdown = Object.entries(r.commands)
        .sort((a, b) => b[1] - a[1])
        .map(([command, calls]) => `${command} ${fmt(calls)}`)
        .join(', ');
      const client = Object.entries(r.clientBreakdown)
        .sort((a, b) => b[1] - a[1])
        .map(([command, calls]) => `${command} ${fmt(calls)}`)
        .join(', ');
      rows.push(
        `| ${variant} | ${type} | ${fmt(r.clientCommands)}${client ? ` (${client})` : ''} | ${fmt(
          r.roundTrips,
        )} | ${breakdown || 'none'} |`,
      );
    }
  }
  return rows.join('\n');
}

function cookieTable(variants) {
  const rows = [
    '| variant | cookie sent (name=value) | Set-Cookie header | re-issued on write | set on /public | old cookie after logout |',
    '| --- | ---: | ---: | --- | --- | --- |',
  ];
  for (const v of variants) {
    const c = v.check?.cookie;
    if (!c) {
      continue;
    }
    const replay = v.check.replayAfterLogout;
    rows.push(
      `| ${v.label} | ${c.valueBytes} B | ${c.headerBytes} B | ${
        c.reissuedOnWrite ? `yes (${c.afterWriteBytes} B)` : 'no'
      } | ${c.setOnPublic ? 'yes' : 'no'} | ${replay === 401 ? '401 (revoked)' : `${replay} (still accepted)`} |`,
    );
  }
  return rows.join('\n');
}

/** The issue's targets, each `{ target, measured, status: 'PASS' | 'MISS' | 'NOT RUN' }`. */
export function evaluateTargets(results) {
  const table = summaries(results);
  const targets = [];
  const get = (route, variant) => table[route]?.[variant];
  const add = (target, measured, pass, byCpu = '') =>
    targets.push({
      target,
      measured,
      byCpu,
      status: pass === null ? 'NOT RUN' : pass ? 'PASS' : 'MISS',
    });
  const ratioTarget = (label, route, variant, against, minimum) => {
    const a = get(route, variant);
    const b = get(route, against);
    if (a === undefined || b === undefined) {
      add(label, `${a === undefined ? variant : against} not measured`, null);
      return;
    }
    if (a.void || b.void) {
      add(label, `VOID run (${a.void ? variant : against})`, false);
      return;
    }
    const r = a.rps / b.rps;
    const c = b.cpu / a.cpu;
    add(
      label,
      `${r.toFixed(2)}× (${Math.round(a.rps)} vs ${Math.round(b.rps)} req/s)`,
      r >= minimum,
      Number.isFinite(c)
        ? `${c.toFixed(2)}× (${Math.round(a.cpu)} vs ${Math.round(b.cpu)} µs) ${c >= minimum ? 'pass' : 'miss'}`
        : '',
    );
  };
  for (const variant of ['nss-memory', 'nss-redis', 'nss-stateless']) {
    ratioTarget(`public route ≥ 0.97× bare (${variant})`, 'public', variant, 'bare', 0.97);
  }
  ratioTarget('authenticated read ≥ 0.90× bare (MemoryStore)', 'me', 'nss-memory', 'bare', 0.9);
  ratioTarget('authenticated read ≥ 0.80× bare (RedisStore)', 'me', 'nss-redis', 'bare', 0.8);
  ratioTarget(
    'authenticated read ≥ 1.5× express-session (MemoryStore)',
    'me',
    'nss-memory',
    'express-session',
    1.5,
  );
  ratioTarget(
    'authenticated read ≥ 1.3× express-session + connect-redis (RedisStore)',
    'me',
    'nss-redis',
    'connect-redis',
    1.3,
  );
  ratioTarget(
    'authenticated write ≥ 0.80× bare (MemoryStore)',
    'counter',
    'nss-memory',
    'bare',
    0.8,
  );
  ratioTarget('authenticated write ≥ 0.70× bare (RedisStore)', 'counter', 'nss-redis', 'bare', 0.7);

  const redis = results.redis?.['nss-redis'];
  if (redis === undefined || redis.error) {
    const why = redis?.error ?? 'nss-redis not available';
    add('exactly 1 Redis command per authenticated read', why, null);
    add('0 Redis commands per public request', why, null);
    add('1 Redis round trip per write', why, null);
  } else {
    const near = (value, want) => Math.abs(value - want) < 0.01;
    add(
      'exactly 1 Redis command per authenticated read',
      `${fmt(redis.me.clientCommands)} client commands, ${fmt(redis.me.roundTrips)} round trips`,
      near(redis.me.clientCommands, 1) && near(redis.me.roundTrips, 1),
    );
    add(
      '0 Redis commands per public request',
      `${fmt(redis.public.totalCommands)} commands`,
      near(redis.public.totalCommands, 0),
    );
    // A write request first reads the session (the guard must know it is live): its own write
    // is what it sends beyond an authenticated read.
    const writeTrips = redis.counter.roundTrips - redis.me.roundTrips;
    add(
      '1 Redis round trip per write',
      `${fmt(writeTrips)} for the write (POST /counter: ${fmt(redis.counter.roundTrips)} round trips = the read every authenticated request makes + the write)`,
      near(writeTrips, 1),
    );
  }
  ratioTarget('stateless read ≥ 3× iron-session', 'me', 'nss-stateless', 'iron-session', 3);

  const memory = results.memory;
  if (!Array.isArray(memory) || memory.length === 0) {
    add('MemoryStore latency at 1M within 1.5× of 1k', memory?.error ?? 'not run', null);
    add('MemoryStore ≤ 1 KiB per idle session beyond its data', memory?.error ?? 'not run', null);
  } else {
    const small = memory.find((r) => r.size === 1_000);
    const large = memory.find((r) => r.size === 1_000_000);
    const latencyTarget = (label, field) => {
      if (!small || !large) {
        add(label, 'sizes 1k and 1M not both run', null);
        return;
      }
      const r = large[field] / small[field];
      add(
        label,
        `${r.toFixed(2)}× (get+update ${Math.round(large[field])} vs ${Math.round(small[field])} ns)`,
        r <= 1.5,
      );
    };
    latencyTarget(
      'MemoryStore latency at 1M within 1.5× of 1k (1 000 active sessions among all)',
      'activeGetUpdateNs',
    );
    latencyTarget(
      'MemoryStore latency at 1M within 1.5× of 1k (uniform random over all sessions)',
      'getUpdateNs',
    );
    const worst = Math.max(...memory.map((r) => r.overheadPerSession));
    add(
      'MemoryStore ≤ 1 KiB per idle session beyond its data',
      `worst ${Math.round(worst)} B over ${memory.length} sizes`,
      worst <= 1024,
    );
  }
  return targets;
}

export function targetsTable(targets) {
  return [
    '| target | measured (req/s, the verdict) | cross-check: app CPU per request | result |',
    '| --- | --- | --- | --- |',
    ...targets.map((t) => `| ${t.target} | ${t.measured} | ${t.byCpu || ''} | **${t.status}** |`),
  ].join('\n');
}

export function renderReport(results) {
  const { meta } = results;
  const table = summaries(results);
  const variantRows = results.variants.map((v) => {
    const state =
      v.status === 'ready'
        ? v.check?.ok
          ? 'measured'
          : `FAILED CHECK: ${v.check?.failures.join('; ')}`
        : v.status === 'unavailable'
          ? `not available: ${v.reason}`
          : `FAILED TO START: ${String(v.reason).split('\n')[0]}`;
    const notes = Object.entries(v.notes ?? {})
      .map(([key, value]) => `${key}: ${value}`)
      .join('; ');
    return `| ${v.label} | ${state} | ${notes} |`;
  });
  const targets = evaluateTargets(results);
  const sections = [
    '# nest-secure-session — benchmark results',
    '',
    `Generated ${meta.date} by \`npm run bench\` in ${meta.elapsed}. Reproduce: \`npm ci && npm run bench\`.`,
    '',
    `- Machine: ${meta.cpu}, ${meta.cores} cores, ${meta.memGiB} GiB RAM, ${meta.os}; load average ${meta.loadBefore} before, ${meta.loadAfter} after (a shared machine: other processes ran too)`,
    `- Node ${meta.node}; ${meta.versions}`,
    `- nest-secure-session ${meta.nss} (dist/ built from ${meta.commit})`,
    `- Load: autocannon on loopback, ${meta.config.connections} connections, ${meta.config.duration} s per run, warm-up ${meta.config.warmup} s per route and variant, ${meta.config.rounds} rounds interleaved (every round runs every variant on a route back to back, rotating the order), median reported; each variant in its own process; every connection has its own session (logged in just before the run) and sends its cookie on every request but /login. A run with any non-2xx response, error or timeout is VOID.`,
    `- Redis variants share one private \`redis-server\` ${meta.redisVersion} on 127.0.0.1:${meta.redisPort} (\`--save '' --appendonly no\`), started and stopped by the benchmark.`,
    '',
    '## Variants',
    '',
    '| variant | state | notes |',
    '| --- | --- | --- |',
    ...variantRows,
    '',
    '## Throughput and latency',
    '',
    "× bare: req/s over the bare app (no session library, fixed answers) on the same route in the same run; × anchor: over the established package the variant replaces. App CPU µs/req: user + system CPU of the variant's process during the run (from /proc) divided by the requests served; \"CPU ×\" turns it into a throughput-equivalent ratio (the other variant's CPU per request over this one's). It is the cross-check that stays meaningful when other processes compete for the cores; redis-server's own CPU is shown in brackets.",
    '',
    ...Object.keys(table).flatMap((route) => [routeTable(route, table[route]), '']),
    '## Redis traffic per request',
    '',
    `${results.config.counted} requests of each type, one at a time. Client commands: seen by MONITOR from the app's connection (commands a script runs are not counted there); round trips: the server's \`total_reads_processed\` delta; the last column: \`INFO commandstats\` delta, which also counts commands run inside scripts.`,
    '',
    results.redis && Object.keys(results.redis).length > 0
      ? redisTable(results.redis)
      : 'No Redis variant available.',
    '',
    '## Cookie size',
    '',
    cookieTable(results.variants),
    '',
    '## MemoryStore: memory and latency by population',
    '',
    "Each size in its own `node --expose-gc` process (`node bench/memory-store.js` runs it alone). heap / session: `heapUsed` delta after full GC over the filled store; data / session: bytes of the record's strings (UTF-8) plus 8 per timestamp; overhead: the difference. Latency per operation: `await get()` then `await update()` (a one-key delta), median of 3 runs of 100 000. Uniform: any stored session, so at 1M nearly every access misses the CPU caches; 1 000 active: a fixed set of 1 000 sessions among the N (most sessions idle, as in production).",
    '',
    Array.isArray(results.memory)
      ? formatMemoryTable(results.memory)
      : `Not run: ${results.memory?.error ?? 'skipped'}`,
    '',
    '## Targets (issue 5)',
    '',
    targetsTable(targets),
    '',
    '## Notes',
    '',
    "- On a machine shared with other work, single runs swing by tens of percent; the table gives the median of the interleaved rounds and every round's req/s, and the CPU cross-check. Re-run on an idle machine for publishable numbers.",
    '- Where the time goes: `node bench/profile.js <variant[,variant…]> <route> [seconds]` runs the same load under `node --cpu-prof` and prints self, inclusive and per-library-frame time of the measured window only (profiles in `bench/profiles/`).',
    '- Options: `BENCH_DURATION`, `BENCH_WARMUP`, `BENCH_ROUNDS`, `BENCH_CONNECTIONS`, `BENCH_COUNTED`, `BENCH_VARIANTS`, `BENCH_ROUTES`, `BENCH_MEMORY_SIZES`, `BENCH_SKIP_BUILD` (see `bench/run.js`).',
    '',
  ];
  return { markdown: sections.join('\n'), targets };
}
