// Instructions per request: the app's user-space instruction count under valgrind's callgrind,
// which, unlike CPU time, does not change with the machine's load. For before/after figures of
// one change on a shared machine (kernel time, e.g. the socket writes, is not counted).
//
//   node bench/instructions.js <variant[,variant…]> <route> [requests]
//   e.g. BENCH_NODE=24 node bench/instructions.js bare,nss-memory me 2000
//   BENCH_BASELINE=main BENCH_NODE=24 node bench/instructions.js nss-memory,base-memory me
//
// Each variant starts under `valgrind --tool=callgrind` and `node --single-threaded` (V8 then
// compiles and collects on the main thread, so that the count does not depend on when helper
// threads happened to run; slow: a minute or so to start), gets
// the same functional check as in the benchmark, then `requests` requests as warm-up (so that
// the JIT has compiled the hot paths), then counters are zeroed, `requests` more are sent on 4
// connections (each its own session, as in the benchmark), and the count is dumped. Run
// `npm run build` first: the nss variants use dist/ (the base-* ones the BENCH_BASELINE build).
import autocannon from 'autocannon';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { prepareBaseline } from './baseline.js';
import { closeAgent } from './http-client.js';
import { ROUTES, checkVariant, freshSessions, startVariant } from './load.js';
import { nodeLine } from './node-lines.js';
import { startRedis } from './redis-server.js';
import { variantNamed } from './variants.js';

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const CONNECTIONS = 4;

function log(line = '') {
  process.stdout.write(`${line}\n`);
}

function callgrind(pid, command) {
  execFileSync('callgrind_control', [command, String(pid)], { stdio: 'ignore' });
}

function send(port, route, sessions, amount) {
  const { method, path } = ROUTES[route];
  let next = 0;
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url: `http://127.0.0.1:${port}${path}`,
        method,
        connections: CONNECTIONS,
        amount,
        timeout: 60,
        setupClient: (client) => {
          const session = sessions[next++ % sessions.length];
          client.setHeaders({
            ...(method === 'GET' ? {} : { 'content-length': '0' }),
            ...(session ? { cookie: session.cookie.pair } : {}),
            ...(session?.csrfToken ? { 'x-csrf-token': session.csrfToken } : {}),
          });
        },
      },
      (error, result) => (error ? reject(error) : resolve(result)),
    );
  });
}

/** Instructions of the latest callgrind dump in `dir` (its `summary:` line). */
function dumpedInstructions(dir) {
  const dumps = readdirSync(dir)
    .filter((name) => /^callgrind\.out\.\d+\.\d+$/.test(name))
    .sort((a, b) => Number(a.split('.').at(-1)) - Number(b.split('.').at(-1)));
  const text = readFileSync(join(dir, dumps.at(-1)), 'utf8');
  const match = /^summary: (\d+)/m.exec(text);
  if (match === null) {
    throw new Error(`no summary line in ${dumps.at(-1)}`);
  }
  return Number(match[1]);
}

async function measure(name, route, requests, line, redis) {
  const dir = mkdtempSync(join(tmpdir(), 'nss-callgrind-'));
  const variant = await startVariant(name, {
    secret: randomBytes(32).toString('base64url'),
    redisPort: redis?.port ?? 0,
    node: 'valgrind',
    execArgv: [
      '--tool=callgrind',
      '--smc-check=all-non-file',
      `--callgrind-out-file=${join(dir, 'callgrind.out.%p')}`,
      line.bin,
      // No compiler or GC threads: their share of the work would land in the count at random.
      '--single-threaded',
    ],
  });
  try {
    if (variant.status !== 'ready') {
      log(`${name}: ${variant.status}: ${variant.reason}`);
      return null;
    }
    const check = await checkVariant({ ...variant });
    if (!check.ok) {
      log(`${name}: check failed: ${check.failures.join('; ')}`);
      return null;
    }
    const sessions = ROUTES[route].session ? await freshSessions(variant, CONNECTIONS) : [];
    await send(variant.port, route, sessions, requests);
    callgrind(variant.pid, '-z');
    const result = await send(variant.port, route, sessions, requests);
    callgrind(variant.pid, '-d');
    const served = result.requests.total;
    if (result.non2xx > 0 || result.errors > 0 || served === 0) {
      log(`${name}: ${result.non2xx} non-2xx, ${result.errors} errors: not counted`);
      return null;
    }
    return { name, served, perRequest: dumpedInstructions(dir) / served };
  } finally {
    await variant.stop?.();
    rmSync(dir, { recursive: true, force: true });
  }
}

const [variantsArg, route = 'me', requestsArg = '2000'] = process.argv.slice(2);
if (!variantsArg || !ROUTES[route]) {
  log(
    `usage: node bench/instructions.js <variant[,variant…]> <${Object.keys(ROUTES).join('|')}> [requests]`,
  );
  process.exit(2);
}
const names = variantsArg.split(',');
if (names.some((name) => variantNamed(name)?.baseline !== undefined)) {
  if (!process.env.BENCH_BASELINE) {
    throw new Error('base-* variants run the BENCH_BASELINE build: set BENCH_BASELINE=<git ref>');
  }
  const baseline = prepareBaseline(process.env.BENCH_BASELINE, ROOT, log);
  process.env.BENCH_BASELINE_DIST = baseline.dist;
  process.env.BENCH_BASELINE_LABEL = `${baseline.ref} (${baseline.short})`;
}
const line = nodeLine(process.env.BENCH_NODE ?? 'system', log);
const redis = names.some((name) => variantNamed(name)?.redis) ? await startRedis() : null;
try {
  for (const name of names) {
    const counted = await measure(name, route, Number(requestsArg), line, redis);
    if (counted !== null) {
      log(
        `${name} on ${line.label} (${line.version}) ${ROUTES[route].title}: ${Math.round(
          counted.perRequest,
        ).toLocaleString(
          'en-US',
        )} instructions per request (user space, ${counted.served} requests)`,
      );
    }
  }
} finally {
  await redis?.stop();
  closeAgent();
}
