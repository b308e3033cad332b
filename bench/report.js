// Turns the raw measurements into bench/RESULTS.md (and the README's Performance block): CPU per
// request as the primary figure, ratios to bare and to the anchors per Node line, the targets.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatMemoryTable } from './memory-store.js';
import { ROUTES } from './load.js';
import { bareRatio, cpuRatio, fmt, median, platformVariants, summaries } from './summary.js';
import { VERDICT_MAJORS, evaluateFixedTargets, evaluateTargets } from './targets.js';
import { PLATFORMS, variantNamed } from './variants.js';

const README_START = '<!-- bench:performance:start -->';
const README_END = '<!-- bench:performance:end -->';
const MARK = { met: '✅ met', missed: '❌ missed', 'not run': 'not run' };

const routeCode = (route) => `\`${ROUTES[route].method} ${ROUTES[route].path}\``;
const measuredIn = (table, line, platform) =>
  platformVariants(platform).filter((variant) =>
    Object.values(table[line.id] ?? {}).some((routeTable) => routeTable[variant.name]),
  );

/**
 * The compact table of one Node line and platform: a row per route, the bare app's CPU µs per
 * request, then each variant's µs and, in brackets, bare ÷ variant.
 */
export function compactTable(table, line, platform) {
  const variants = measuredIn(table, line, platform);
  if (variants.length === 0) {
    return null;
  }
  const platformName = platform === 'express' ? 'Express' : 'Fastify';
  const rows = [
    `| ${line.label} · ${platformName} | ${variants.map((v) => v.short).join(' | ')} |`,
    `| --- | ${variants.map(() => '---:').join(' | ')} |`,
  ];
  for (const route of Object.keys(table[line.id])) {
    const routeTable = table[line.id][route];
    const cells = variants.map((variant) => {
      const s = routeTable[variant.name];
      if (s === undefined) {
        return '–';
      }
      if (s.void) {
        return 'VOID';
      }
      if (variant.bare === undefined) {
        return `${fmt(s.cpu, 0)} µs`;
      }
      return `${fmt(s.cpu, 0)} (${fmt(bareRatio(routeTable, variant.name))})`;
    });
    rows.push(`| ${routeCode(route)} | ${cells.join(' | ')} |`);
  }
  return rows.join('\n');
}

/**
 * BENCH_BASELINE: each nss variant beside the same variant on the baseline build, per Node line
 * and route: CPU µs per request of both and new ÷ baseline (below 1.00: this build is cheaper).
 */
function baselineTable(table, lines, routes) {
  const rows = [
    "| Node line | variant | route | this build (µs/req) | baseline (µs/req) | new ÷ baseline | median of the rounds' new ÷ baseline | p99 new ÷ baseline | µs/req per round, this build / baseline |",
    '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | --- |',
  ];
  let any = false;
  for (const line of lines) {
    for (const platform of ['express', 'fastify']) {
      for (const base of platformVariants(platform, { baseline: true })) {
        if (base.baseline === undefined) {
          continue;
        }
        const current = variantNamed(base.baseline);
        for (const route of routes) {
          const now = table[line.id]?.[route]?.[current.name];
          const then = table[line.id]?.[route]?.[base.name];
          if (now === undefined || then === undefined) {
            continue;
          }
          any = true;
          const ratio = !now.void && !then.void ? now.cpu / then.cpu : NaN;
          const p99 = !now.void && !then.void ? now.p99 / then.p99 : NaN;
          const each = (s) => s.cpuEach.map((value) => fmt(value, 0)).join(', ');
          // Each round runs both within seconds of each other: its ratio sees the same load.
          const perRound = median(now.cpuEach.map((value, round) => value / then.cpuEach[round]));
          rows.push(
            `| ${line.label} | ${platform === 'express' ? 'Express' : 'Fastify'}: ${current.short} | ${routeCode(
              route,
            )} | ${now.void ? 'VOID' : fmt(now.cpu, 1)} | ${then.void ? 'VOID' : fmt(then.cpu, 1)} | ${fmt(
              ratio,
            )} | ${fmt(perRound)} | ${fmt(p99)} | ${each(now)} / ${each(then)} |`,
          );
        }
      }
    }
  }
  return any ? rows.join('\n') : 'No baseline variant was measured beside its current variant.';
}

function detailTable(routeTable, platform) {
  const rows = [
    '| variant | CPU µs/req | × bare | × anchor | req/s | p50 ms | p99 ms | p99 ÷ bare | redis-server µs/req | CPU µs/req per round |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  ];
  for (const variant of platformVariants(platform, { baseline: true })) {
    const s = routeTable[variant.name];
    if (s === undefined) {
      continue;
    }
    const bare = routeTable[variant.bare];
    const anchor = variant.anchor ? routeTable[variant.anchor] : undefined;
    const anchorCell = variant.anchor
      ? `${fmt(cpuRatio(s, anchor))} (vs ${variantNamed(variant.anchor).short})`
      : '';
    const p99 = bare && !bare.void && !s.void ? s.p99 / bare.p99 : NaN;
    rows.push(
      `| ${variant.label} | ${s.void ? `VOID (${s.voidReason})` : fmt(s.cpu, 0)} | ${
        variant.bare ? fmt(bareRatio(routeTable, variant.name)) : '1.00'
      } | ${anchorCell} | ${fmt(s.rps, 0)} | ${fmt(s.p50, 1)} | ${fmt(s.p99, 1)} | ${
        variant.bare ? fmt(p99) : '1.00'
      } | ${Number.isFinite(s.redisCpu) && s.redisCpu > 0 ? fmt(s.redisCpu, 0) : ''} | ${s.cpuEach
        .map((value) => fmt(value, 0))
        .join(', ')} |`,
    );
  }
  return rows.join('\n');
}

/** The same variant on each Node line, side by side: CPU µs per request by route. */
function nodeLinesTable(table, lines, routes) {
  const header = routes.flatMap((route) => lines.map((line) => `${route} · ${line.label}`));
  const rows = [
    `| variant | ${header.join(' | ')} |`,
    `| --- | ${header.map(() => '---:').join(' | ')} |`,
  ];
  for (const platform of ['express', 'fastify']) {
    for (const variant of platformVariants(platform, { baseline: true })) {
      const cells = routes.flatMap((route) =>
        lines.map((line) => {
          const s = table[line.id]?.[route]?.[variant.name];
          return s === undefined ? '–' : s.void ? 'VOID' : fmt(s.cpu, 0);
        }),
      );
      if (cells.every((cell) => cell === '–')) {
        continue;
      }
      const name = `${platform === 'express' ? 'Express' : 'Fastify'}: ${variant.short}`;
      rows.push(`| ${name} | ${cells.join(' | ')} |`);
    }
  }
  return rows.join('\n');
}

function encryptionTable(table, lines, routes) {
  const rows = [
    '| Node line | route | encryptAtRest on (µs/req) | off (µs/req) | cost (µs/req) | on ÷ off |',
    '| --- | --- | ---: | ---: | ---: | ---: |',
  ];
  let any = false;
  for (const line of lines) {
    for (const route of routes) {
      const on = table[line.id]?.[route]?.['nss-redis'];
      const off = table[line.id]?.[route]?.['nss-redis-plain'];
      if (on === undefined || off === undefined) {
        continue;
      }
      any = true;
      rows.push(
        `| ${line.label} | ${routeCode(route)} | ${fmt(on.cpu, 0)} | ${fmt(off.cpu, 0)} | ${fmt(
          on.cpu - off.cpu,
          0,
        )} | ${fmt(on.cpu / off.cpu)} |`,
      );
    }
  }
  return any ? rows.join('\n') : 'Not measured (run both `nss-redis` and `nss-redis-plain`).';
}

function targetsTable(targets, lines) {
  const verdictOn = lines.filter((line) => VERDICT_MAJORS.includes(line.major));
  const basis =
    verdictOn.length > 0 ? verdictOn.map((line) => line.label).join(' and ') : 'every line';
  const rows = [
    `| platform | target | ${lines.map((line) => line.label).join(' | ')} | verdict (${basis}) |`,
    `| --- | --- | ${lines.map(() => '---:').join(' | ')} | --- |`,
  ];
  for (const t of targets) {
    const cells = lines.map((line) => {
      const cell = t.cells[line.id];
      return cell.met === null ? cell.text : `${cell.text} ${cell.met ? '✓' : '✗'}`;
    });
    rows.push(
      `| ${t.platform === 'express' ? 'Express' : 'Fastify'} | ${t.label} | ${cells.join(
        ' | ',
      )} | ${MARK[t.status]} |`,
    );
  }
  return rows.join('\n');
}

function fixedTargetsTable(targets) {
  return [
    '| target | measured | verdict |',
    '| --- | --- | --- |',
    ...targets.map((t) => `| ${t.label} | ${t.measured} | ${MARK[t.status]} |`),
  ].join('\n');
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

function roundsTable(rounds) {
  return [
    '| round | load average before (1 / 5 / 15 min) | after | other processes, median of its runs (cores) | max | s |',
    '| ---: | --- | --- | ---: | ---: | ---: |',
    ...rounds.map(
      (r) =>
        `| ${r.round} | ${r.loadBefore} | ${r.loadAfter} | ${fmt(r.othersCoresMedian)} | ${fmt(
          r.othersCoresMax,
        )} | ${r.seconds} |`,
    ),
  ].join('\n');
}

/** Every compact table of the run (per Node line: Express, then Fastify). */
function compactTables(table, lines) {
  return lines.flatMap((line) =>
    ['express', 'fastify']
      .map((platform) => compactTable(table, line, platform))
      .filter((t) => t !== null)
      .flatMap((t) => [t, '']),
  );
}

export function renderReport(results) {
  const { meta, lines } = results;
  const table = summaries(results);
  const routes = results.config.routes.filter((route) =>
    lines.some((line) => table[line.id]?.[route]),
  );
  const targets = evaluateTargets(results, table);
  const fixed = evaluateFixedTargets(results);
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
    const line = lines.find((l) => l.id === v.line)?.label ?? v.line;
    return `| ${line} | ${v.label} | ${state} | ${notes} |`;
  });
  const runSeconds = median(
    Object.values(results.runs).flatMap((routes) =>
      Object.values(routes).flatMap((variants) =>
        Object.values(variants).flatMap((runs) => runs.map((run) => run.seconds)),
      ),
    ),
  );
  const count = (status) => [...targets, ...fixed].filter((t) => t.status === status).length;
  const sections = [
    '# nest-secure-session — benchmark results',
    '',
    `Generated ${meta.date} by \`npm run bench\` in ${meta.elapsed}. Reproduce: \`npm ci && npm run bench\` (see bench/run.js for the \`BENCH_*\` options of shorter runs).`,
    '',
    `- Machine: ${meta.cpu}, ${meta.cores} cores, ${meta.memGiB} GiB RAM, ${meta.os}. **Load average ${meta.loadBefore} before the run, ${meta.loadAfter} after**: a machine shared with other work (per round below); compare within this run only.`,
    `- Node lines, each running every variant in this one run: ${lines
      .map((line) => `${line.label} (${line.version})`)
      .join(', ')}; the harness and autocannon ran on ${meta.node}.`,
    `- ${meta.versions}`,
    `- nest-secure-session ${meta.nss} (dist/ built from ${meta.commit})${
      results.baseline
        ? `; baseline: ${results.baseline.ref} = ${results.baseline.commit} (${meta.baselineState})`
        : ''
    }`,
    `- Method: every variant is one Nest 12 app in its own process, on loopback. autocannon, ${meta.config.connections} connections, ${meta.config.duration} s per run (measured: median ${fmt(runSeconds)} s) after a ${meta.config.warmup} s warm-up per route, variant and line; ${meta.config.rounds} rounds, each running every route on every variant of every Node line in a new shuffled order; medians reported. Every connection has its own session, logged in just before the run, and sends its cookie on every request. A run with any non-2xx response, error or timeout is VOID. **CPU µs/req**, the primary figure: user + system CPU of the app process during the run (its own \`process.cpuUsage()\`, read over IPC before and after) over the requests served; it holds up better than req/s when other processes take the cores. Ratios are bare ÷ variant (or anchor ÷ variant) of CPU per request on the same route and Node line: 1.00 is free, 0.50 costs twice bare.`,
    `- Redis variants share one private \`redis-server\` ${meta.redisVersion} on 127.0.0.1:${meta.redisPort} (\`--save '' --appendonly no\`), started and stopped by the benchmark; its own CPU per request is shown apart. CSRF protection is off in the nss variants (\`csrf: false\`): the anchors have none.`,
    '',
    '## CPU per request, per Node line',
    '',
    'Each cell: CPU µs per request of the app process, and in brackets bare ÷ variant (bare Express for the Express variants, bare Fastify for the Fastify ones). ![CPU per request](cpu-per-request.svg)',
    '',
    ...compactTables(table, lines),
    '### The Node lines side by side (CPU µs per request)',
    '',
    nodeLinesTable(table, lines, routes),
    '',
    ...(results.baseline
      ? [
          `## Against the baseline: \`BENCH_BASELINE=${results.baseline.ref}\` (${results.baseline.commit.slice(0, 7)} "${results.baseline.subject}")`,
          '',
          "The same app and options with the library loaded from that commit's build (bench/baseline.js), interleaved with the other variants in every round. new ÷ baseline is CPU per request of this build over the baseline's on the same route and Node line, of the medians and as the median of each round's own ratio (the two runs of a round see much the same machine load): below 1.00, this build is cheaper.",
          '',
          baselineTable(table, lines, routes),
          '',
        ]
      : []),
    '## Targets (issue 11)',
    '',
    `CPU-per-request ratios per Node line, ✓ met / ✗ missed on that line; the verdict needs every line of ${VERDICT_MAJORS.map(
      (major) => `Node ${major}`,
    ).join(' and ')} (Node 20 is reported beside them). ${count('met')} met, ${count(
      'missed',
    )} missed, ${count('not run')} not run.`,
    '',
    targetsTable(targets, lines),
    '',
    fixedTargetsTable(fixed),
    '',
    '## What encryptAtRest costs (RedisStore, Express)',
    '',
    '`encryptAtRest` is on by default for RedisStore: every data value is sealed with AES-256-GCM under a key derived from the session token before the store sees it, and opened on read. The same app with `encryptAtRest: false`, in the same run:',
    '',
    encryptionTable(table, lines, routes),
    '',
    '## Every variant, route and Node line',
    '',
    '× bare / × anchor: CPU per request as above. req/s, p50 and p99 are medians over the rounds; with the load generator on the same two cores, req/s follows what the machine gives the app, which is why CPU per request is the figure to compare.',
    '',
    ...lines.flatMap((line) =>
      routes.flatMap((route) =>
        ['express', 'fastify']
          .filter((platform) => measuredIn(table, line, platform).length > 0)
          .flatMap((platform) => [
            `### ${line.label} · ${PLATFORMS[platform]} · ${ROUTES[route].title}`,
            '',
            detailTable(table[line.id][route], platform),
            '',
          ]),
      ),
    ),
    '## Machine load per round',
    '',
    "Other processes: the whole machine's busy CPU during each run (/proc/stat) less the app's, the load generator's and redis-server's, in cores (of 2).",
    '',
    roundsTable(results.rounds),
    '',
    '## Variants',
    '',
    '| Node line | variant | state | notes |',
    '| --- | --- | --- | --- |',
    ...variantRows,
    '',
    '## Redis traffic per request',
    '',
    `${results.config.counted} requests of each type, one at a time, on ${lines[0]?.label}. Client commands: seen by MONITOR from the app's connection (commands a script runs are not counted there); round trips: the server's \`total_reads_processed\` delta; the last column: \`INFO commandstats\` delta, which also counts commands run inside scripts.`,
    '',
    results.redis && Object.keys(results.redis).length > 0
      ? redisTable(results.redis)
      : 'No Redis variant counted.',
    '',
    '## Cookie size',
    '',
    cookieTable(results.variants.filter((v) => v.line === lines[0]?.id)),
    '',
    '## MemoryStore: memory and latency by population',
    '',
    `Each size in its own \`node --expose-gc\` process on ${meta.node} (\`node bench/memory-store.js\` runs it alone). heap / session: \`heapUsed\` delta after full GC over the filled store; data / session: bytes of the record's strings (UTF-8) plus 8 per timestamp; overhead: the difference. Latency per operation: \`await get()\` then \`await update()\` (a one-key delta), median of 3 runs of 100 000. Uniform: any stored session, so at 1M nearly every access misses the CPU caches; 1 000 active: a fixed set of 1 000 sessions among the N (most sessions idle, as in production).`,
    '',
    Array.isArray(results.memory)
      ? formatMemoryTable(results.memory)
      : `Not run: ${results.memory?.error ?? 'skipped'}`,
    '',
    '## Notes',
    '',
    '- Where the time goes: `node bench/profile.js <variant[,variant…]> <route> [seconds]` runs the same load under `node --cpu-prof` and prints self, inclusive and per-library-frame time of the measured window only (profiles in `bench/profiles/`).',
    '- Shorter runs: `BENCH_NODES`, `BENCH_VARIANTS`, `BENCH_ROUTES`, `BENCH_DURATION`, `BENCH_WARMUP`, `BENCH_ROUNDS`, `BENCH_CONNECTIONS`, `BENCH_COUNTED`, `BENCH_MEMORY_SIZES`, `BENCH_SKIP_BUILD`, `BENCH_BASELINE` (see `bench/run.js`). Only a complete run rewrites the README table.',
    '',
  ];
  return { markdown: sections.join('\n'), targets: [...targets, ...fixed] };
}

/**
 * The README with its Performance block (between the bench markers) replaced by this run's
 * tables, formatted as Prettier formats the rest; `null` when the markers are missing.
 */
export async function renderReadmeSection(readme, results) {
  const start = readme.indexOf(README_START);
  const end = readme.indexOf(README_END);
  if (start < 0 || end < start) {
    return null;
  }
  const { meta, lines } = results;
  const table = summaries(results);
  const targets = [...evaluateTargets(results, table), ...evaluateFixedTargets(results)];
  const count = (status) => targets.filter((t) => t.status === status).length;
  const block = [
    README_START,
    '',
    `Latest complete run: ${meta.date.slice(0, 10)}, ${meta.elapsed}, ${meta.cores}-core ${meta.cpu} shared with other work (load average ${meta.loadBefore} before, ${meta.loadAfter} after). Each cell: CPU µs per request of the app process, and in brackets bare ÷ variant on the same route and Node line (1.00 = free).`,
    '',
    ...compactTables(table, lines),
    '![CPU µs per request by variant and route, one panel per Node line](bench/cpu-per-request.svg)',
    '',
    `Targets of issue 11 (ratios on Node 24 and 26): ${count('met')} met, ${count(
      'missed',
    )} missed${count('not run') > 0 ? `, ${count('not run')} not run` : ''}; each one with its figures per Node line, the \`encryptAtRest\` cost, req/s and p50/p99, Redis commands per request and the MemoryStore micro-benchmark are in [\`bench/RESULTS.md\`](bench/RESULTS.md).`,
    '',
    README_END,
  ].join('\n');
  const replaced = readme.slice(0, start) + block + readme.slice(end + README_END.length);
  const prettier = await import('prettier');
  const options =
    (await prettier.resolveConfig(
      join(dirname(fileURLToPath(import.meta.url)), '..', 'README.md'),
    )) ?? {};
  return prettier.format(replaced, { ...options, parser: 'markdown' });
}
