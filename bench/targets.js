// The targets of issue 11, evaluated on CPU per request (bare ÷ variant, anchor ÷ variant) per
// Node line, plus the p99 bound and the unchanged Redis and MemoryStore targets.
import { cpuRatio, fmt, summaries } from './summary.js';
import { variantNamed } from './variants.js';

/** The Node lines a verdict rests on (issue 11: 24 and 26; Node 20 is reported beside them). */
export const VERDICT_MAJORS = [24, 26];

function ratioTargets(platform) {
  const bare = platform === 'express' ? 'bare' : 'fastify-bare';
  const nss =
    platform === 'express'
      ? { memory: 'nss-memory', redis: 'nss-redis', stateless: 'nss-stateless' }
      : {
          memory: 'nss-fastify-memory',
          redis: 'nss-fastify-redis',
          stateless: 'nss-fastify-stateless',
        };
  const anchorOf = (name) => variantNamed(name).anchor;
  const vsBare = (route, name, min, what) => ({
    label: `${what} ≥ ${min.toFixed(2)}× bare (${variantNamed(name).short})`,
    route,
    variant: name,
    against: bare,
    min,
  });
  const vsAnchor = (route, name, min, what) => ({
    label: `${what} ≥ ${min}× ${variantNamed(anchorOf(name)).short} (${variantNamed(name).short})`,
    route,
    variant: name,
    against: anchorOf(name),
    min,
  });
  const rows = [
    vsBare('public', nss.memory, 0.97, 'public route'),
    vsBare('public', nss.redis, 0.97, 'public route'),
    vsBare('public', nss.stateless, 0.97, 'public route'),
    vsBare('me', nss.memory, 0.9, 'read'),
    vsBare('me', nss.redis, 0.85, 'read'),
    vsBare('me', nss.stateless, 0.85, 'read'),
    vsAnchor('me', nss.memory, 1.5, 'read'),
    vsAnchor('me', nss.redis, 1.5, 'read'),
    vsBare('counter', nss.memory, 0.85, 'write'),
    vsBare('counter', nss.redis, 0.75, 'write'),
    vsAnchor('counter', nss.memory, 1.5, 'write'),
    vsAnchor('counter', nss.redis, 1.5, 'write'),
  ];
  if (platform === 'express') {
    // iron-session is the stateless anchor; Fastify's (@fastify/secure-session) has no target.
    rows.splice(8, 0, vsAnchor('me', nss.stateless, 3, 'read'));
    rows.push(vsAnchor('counter', nss.stateless, 1.5, 'write'));
  }
  return { bare, nss, rows };
}

/** Every target: `{ platform, label, cells: { [line]: { value, text, met } }, status }`. */
export function evaluateTargets(results, table = summaries(results)) {
  const lines = results.lines;
  const verdictLines = lines.filter((line) => VERDICT_MAJORS.includes(line.major));
  const judged = verdictLines.length > 0 ? verdictLines : lines;
  const verdict = (cells) => {
    const values = judged.map((line) => cells[line.id]).filter((cell) => cell?.met !== null);
    if (values.length === 0) {
      return 'not run';
    }
    return values.every((cell) => cell.met) ? 'met' : 'missed';
  };
  const targets = [];
  for (const platform of ['express', 'fastify']) {
    const { bare, nss, rows } = ratioTargets(platform);
    for (const row of rows) {
      const cells = {};
      for (const line of lines) {
        const routeTable = table[line.id]?.[row.route];
        const value = cpuRatio(routeTable?.[row.variant], routeTable?.[row.against]);
        cells[line.id] = Number.isFinite(value)
          ? { value, text: fmt(value), met: value >= row.min }
          : { value, text: routeTable?.[row.variant]?.void ? 'VOID' : 'not run', met: null };
      }
      targets.push({ platform, label: row.label, cells, status: verdict(cells) });
    }
    // p99 latency at 50 connections ≤ 1.2× bare's, on every route: the worst route per variant.
    for (const name of Object.values(nss)) {
      const cells = {};
      for (const line of lines) {
        let worst = null;
        for (const [route, routeTable] of Object.entries(table[line.id] ?? {})) {
          const own = routeTable[name];
          const base = routeTable[bare];
          if (own === undefined || base === undefined || own.void || base.void) {
            continue;
          }
          const ratio = own.p99 / base.p99;
          if (Number.isFinite(ratio) && (worst === null || ratio > worst.ratio)) {
            worst = { ratio, route };
          }
        }
        cells[line.id] =
          worst === null
            ? { value: NaN, text: 'not run', met: null }
            : {
                value: worst.ratio,
                text: `${fmt(worst.ratio)} (${worst.route})`,
                met: worst.ratio <= 1.2,
              };
      }
      targets.push({
        platform,
        label: `p99 ≤ 1.20× bare, worst route (${variantNamed(name).short})`,
        cells,
        status: verdict(cells),
      });
    }
  }
  return targets;
}

/** The targets that do not depend on the Node line: Redis traffic and MemoryStore memory. */
export function evaluateFixedTargets(results) {
  const targets = [];
  const add = (label, measured, pass) =>
    targets.push({ label, measured, status: pass === null ? 'not run' : pass ? 'met' : 'missed' });
  const near = (value, want) => Math.abs(value - want) < 0.01;
  for (const name of ['nss-redis', 'nss-fastify-redis']) {
    const redis = results.redis?.[name];
    const short = `${variantNamed(name).short}${name.includes('fastify') ? ' on Fastify' : ''}`;
    if (redis === undefined || redis.error) {
      const why = redis?.error ?? `${name} not counted`;
      add(`0 Redis commands per public request (${short})`, why, null);
      add(`1 Redis command per authenticated read (${short})`, why, null);
      add(`1 Redis round trip per write (${short})`, why, null);
      continue;
    }
    add(
      `0 Redis commands per public request (${short})`,
      `${fmt(redis.public.totalCommands)} commands`,
      near(redis.public.totalCommands, 0),
    );
    add(
      `1 Redis command per authenticated read (${short})`,
      `${fmt(redis.me.clientCommands)} client commands, ${fmt(redis.me.roundTrips)} round trips`,
      near(redis.me.clientCommands, 1) && near(redis.me.roundTrips, 1),
    );
    // A write request first reads the session (the guard must know it is live): its own write
    // is what it sends beyond an authenticated read.
    const writeTrips = redis.counter.roundTrips - redis.me.roundTrips;
    add(
      `1 Redis round trip per write (${short})`,
      `${fmt(writeTrips)} for the write (POST /counter: ${fmt(redis.counter.roundTrips)} round trips = the read + the write)`,
      near(writeTrips, 1),
    );
  }
  const memory = results.memory;
  if (!Array.isArray(memory) || memory.length === 0) {
    add('MemoryStore ≤ 1 KiB per idle session beyond its data', memory?.error ?? 'not run', null);
  } else {
    const largest = memory.reduce((a, b) => (b.size > a.size ? b : a));
    add(
      `MemoryStore ≤ 1 KiB per idle session beyond its data at ${largest.size.toLocaleString('en-US')} sessions`,
      `${Math.round(largest.overheadPerSession)} B (worst over ${memory.length} sizes: ${Math.round(
        Math.max(...memory.map((r) => r.overheadPerSession)),
      )} B)`,
      largest.size >= 1_000_000 ? largest.overheadPerSession <= 1024 : null,
    );
  }
  return targets;
}
