// Variant processes, functional checks, autocannon runs and counted Redis runs.
import autocannon from 'autocannon';
import { execFileSync, fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { clearTimeout, setTimeout } from 'node:timers';
import { fileURLToPath } from 'node:url';
import { request, sessionCookieOf } from './http-client.js';
import { commandDelta, redisCounters } from './redis-server.js';
import { variantNamed } from './variants.js';

const SERVER = join(dirname(fileURLToPath(import.meta.url)), 'server.js');

/** The measured routes: how each is requested under load. */
export const ROUTES = {
  public: { method: 'GET', path: '/public', session: true, title: 'GET /public (no session use)' },
  me: { method: 'GET', path: '/me', session: true, title: 'GET /me (authenticated read)' },
  counter: {
    method: 'POST',
    path: '/counter',
    session: true,
    title: 'POST /counter (authenticated write)',
  },
  login: { method: 'POST', path: '/login', session: false, title: 'POST /login (new session)' },
};

/** Whether a variant has no session library (its routes answer without a session). */
export function isBare(name) {
  const kind = variantNamed(name)?.kind;
  return kind === 'bare' || kind === 'bare-als';
}

export let ticksPerSecond = 100;
try {
  ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
} catch {
  // Linux's usual value
}

/** CPU seconds (user + system) a process has used so far, from /proc; NaN when unknown. */
export function cpuSeconds(pid) {
  if (!pid) {
    return NaN;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After the command name: state is field 3, utime field 14, stime field 15.
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
  } catch {
    return NaN;
  }
}

/**
 * Forks one variant's server on the Node binary `node` (default: this one). Resolves to
 * `{ status: 'ready' | 'unavailable' | 'failed', …, cpuMicros(), stop() }`; `cpuMicros()`
 * resolves to the user + system CPU the process has used so far, in µs (its own
 * `process.cpuUsage()`, over IPC; from /proc, with clock-tick resolution, if IPC fails).
 */
export function startVariant(name, { secret, redisPort, execArgv = [], node }) {
  const child = fork(SERVER, [name], {
    env: { ...process.env, BENCH_SECRET: secret, BENCH_REDIS_PORT: String(redisPort ?? 0) },
    execArgv,
    execPath: node ?? process.execPath,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const ready = new Promise((resolve) => {
    child.once('message', (message) => resolve(message));
    child.once('exit', (code) =>
      resolve({ type: 'failed', error: `exited with code ${code} before it was ready` }),
    );
  });
  const pending = new Map();
  let sequence = 0;
  child.on('message', (message) => {
    if (message?.type === 'cpu') {
      pending.get(message.id)?.(message.micros);
      pending.delete(message.id);
    }
  });
  const cpuMicros = () =>
    new Promise((resolve) => {
      const id = ++sequence;
      const fallback = setTimeout(() => {
        pending.delete(id);
        resolve(cpuSeconds(child.pid) * 1e6);
      }, 2_000);
      pending.set(id, (micros) => {
        clearTimeout(fallback);
        resolve(micros);
      });
      try {
        child.send({ type: 'cpu', id });
      } catch {
        // the fallback answers
      }
    });
  return ready.then((message) => ({
    name,
    status: message.type,
    port: message.port,
    pid: child.pid,
    node: message.node,
    notes: message.notes ?? {},
    reason: message.reason ?? message.error,
    cpuMicros,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.send({ type: 'shutdown' });
        const timer = setTimeout(() => {
          if (child.exitCode === null && child.signalCode === null) {
            process.kill(child.pid, 'SIGKILL');
          }
        }, 10_000);
        await exited;
        clearTimeout(timer);
      }
    },
  }));
}

async function login(port) {
  const response = await request(port, 'POST', '/login');
  const cookie = sessionCookieOf(response);
  const csrfToken = typeof response.body?.csrfToken === 'string' ? response.body.csrfToken : null;
  return { response, cookie, csrfToken };
}

function authHeaders(session) {
  const headers = { cookie: session.cookie.pair };
  if (session.csrfToken) {
    headers['x-csrf-token'] = session.csrfToken;
  }
  return headers;
}

/**
 * Checks that a variant works before it is measured: 401 without a cookie, login sets a cookie,
 * read, write (twice), public, logout clears the cookie, 401 afterwards. Also records the cookie
 * sizes and whether the old cookie still opens the session after logout.
 */
export async function checkVariant(variant) {
  const { port, name } = variant;
  const failures = [];
  const expect = (ok, what) => {
    if (!ok) {
      failures.push(what);
    }
    return ok;
  };
  if (isBare(name)) {
    for (const route of ['public', 'me', 'counter', 'login', 'logout']) {
      const method = route === 'public' || route === 'me' ? 'GET' : 'POST';
      const response = await request(port, method, `/${route}`);
      expect(response.status === 200, `${method} /${route} → ${response.status}`);
    }
    return { ok: failures.length === 0, failures, cookie: null };
  }
  const anonymous = await request(port, 'GET', '/me');
  expect(anonymous.status === 401, `GET /me without cookie → ${anonymous.status}, want 401`);

  const session = await login(port);
  if (
    !expect(session.response.status === 200, `POST /login → ${session.response.status}`) ||
    !expect(session.cookie !== null && !session.cookie.cleared, 'POST /login set no cookie')
  ) {
    return { ok: false, failures, cookie: null };
  }
  const loginCookie = session.cookie;
  const userId = session.response.body?.userId;

  const me = await request(port, 'GET', '/me', { headers: authHeaders(session) });
  expect(
    me.status === 200 && me.body?.userId === userId,
    `GET /me → ${me.status} ${JSON.stringify(me.body)}`,
  );

  let counterCookie = null;
  for (const want of [1, 2]) {
    const write = await request(port, 'POST', '/counter', { headers: authHeaders(session) });
    expect(
      write.status === 200 && write.body?.counter === want,
      `POST /counter → ${write.status} ${JSON.stringify(write.body)}, want counter ${want}` +
        (write.status === 403 ? ' (CSRF? no csrf option and no token found)' : ''),
    );
    const renewed = sessionCookieOf(write);
    if (renewed !== null && !renewed.cleared) {
      session.cookie = renewed;
      counterCookie = renewed;
    }
  }

  const pub = await request(port, 'GET', '/public', { headers: authHeaders(session) });
  expect(pub.status === 200, `GET /public → ${pub.status}`);
  const publicSetsCookie = pub.setCookies.length > 0;

  const oldCookie = session.cookie.pair;
  const logout = await request(port, 'POST', '/logout', { headers: authHeaders(session) });
  const cleared = sessionCookieOf(logout);
  expect(logout.status === 200, `POST /logout → ${logout.status}`);
  expect(cleared?.cleared === true, 'POST /logout did not clear the cookie');
  const after = await request(port, 'GET', '/me');
  expect(after.status === 401, `GET /me after logout (cookie cleared) → ${after.status}`);
  const replay = await request(port, 'GET', '/me', { cookie: oldCookie });

  return {
    ok: failures.length === 0,
    failures,
    cookie: {
      valueBytes: Buffer.byteLength(loginCookie.pair),
      headerBytes: Buffer.byteLength(loginCookie.header),
      afterWriteBytes: counterCookie === null ? null : Buffer.byteLength(counterCookie.pair),
      reissuedOnWrite: counterCookie !== null,
      setOnPublic: publicSetsCookie,
    },
    replayAfterLogout: replay.status,
    csrfToken: session.csrfToken !== null,
  };
}

/** `count` fresh authenticated sessions (one per connection). */
export async function freshSessions(variant, count) {
  if (isBare(variant.name)) {
    return Array.from({ length: count }, () => ({ cookie: { pair: 'sid=bare' } }));
  }
  const sessions = [];
  for (let i = 0; i < count; i += 25) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(25, count - i) }, () => login(variant.port)),
    );
    for (const session of batch) {
      if (session.response.status !== 200 || session.cookie === null) {
        throw new Error(`${variant.name}: login failed with ${session.response.status}`);
      }
      sessions.push(session);
    }
  }
  return sessions;
}

function runAutocannon(options) {
  return new Promise((resolve, reject) => {
    autocannon(options, (error, result) => (error ? reject(error) : resolve(result)));
  });
}

/**
 * One load run: `connections` connections for `duration` seconds on one route, each connection
 * with its own session. Resolves to req/s, latency, and whether the run is void.
 */
export async function loadRun(variant, routeName, { connections, duration, sessions, redisPid }) {
  const route = ROUTES[routeName];
  let next = 0;
  const cpuBefore = await variant.cpuMicros();
  const redisBefore = cpuSeconds(redisPid);
  const result = await runAutocannon({
    url: `http://127.0.0.1:${variant.port}${route.path}`,
    method: route.method,
    connections,
    duration,
    // autocannon checks for the end of the run once per sample interval (1 s by default), so a
    // 1.25 s run would last 2 s: a quarter-second interval keeps the run close to its duration.
    sampleInt: 250,
    headers: route.method === 'GET' ? {} : { 'content-length': '0' },
    setupClient: route.session
      ? (client) => {
          const session = sessions[next++ % sessions.length];
          client.setHeaders({
            ...(route.method === 'GET' ? {} : { 'content-length': '0' }),
            ...authHeaders(session),
          });
        }
      : undefined,
  });
  const statusCodes = Object.fromEntries(
    Object.entries(result.statusCodeStats ?? {}).map(([code, { count }]) => [code, count]),
  );
  const total = result.requests.total;
  const cpu = (await variant.cpuMicros()) - cpuBefore;
  const redisCpu = cpuSeconds(redisPid) - redisBefore;
  return {
    cpuUsPerRequest: total > 0 ? cpu / total : NaN,
    redisCpuUsPerRequest: total > 0 ? (redisCpu * 1e6) / total : NaN,
    rps: result.duration > 0 ? total / result.duration : result.requests.average,
    seconds: result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    total,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes,
    void: result.non2xx > 0 || result.errors > 0 || result.timeouts > 0 || total === 0,
  };
}

/**
 * Redis traffic per request type: `count` sequential requests of each type (one at a time, so
 * that reads processed by the server equal round trips), measured as deltas of
 * `INFO commandstats` / `INFO stats` and, through MONITOR, split into commands the client sent
 * and commands run inside scripts.
 */
export async function countRedisCommands(variant, redis, monitor, count) {
  const { port } = variant;
  const window = async (fn) => {
    const before = await redisCounters(redis.client);
    await monitor.mark();
    await fn();
    const seen = await monitor.mark();
    const after = await redisCounters(redis.client);
    return { commands: commandDelta(before, after), reads: after.reads - before.reads, seen };
  };
  // Our own INFO / ECHO traffic in an empty window, subtracted from the read counts below.
  const idle = await window(async () => {});
  const perRequest = (measured) => ({
    commands: Object.fromEntries(
      Object.entries(measured.commands).map(([command, calls]) => [command, calls / count]),
    ),
    totalCommands: Object.values(measured.commands).reduce((a, b) => a + b, 0) / count,
    clientCommands: Object.values(measured.seen.client).reduce((a, b) => a + b, 0) / count,
    clientBreakdown: Object.fromEntries(
      Object.entries(measured.seen.client).map(([command, calls]) => [command, calls / count]),
    ),
    scriptCommands: Object.values(measured.seen.script).reduce((a, b) => a + b, 0) / count,
    roundTrips: Math.max(0, measured.reads - idle.reads) / count,
  });
  const sequential = async (fn) => {
    for (let i = 0; i < count; i++) {
      const response = await fn(i);
      if (response.status !== 200) {
        throw new Error(`${variant.name}: counted request ${i} answered ${response.status}`);
      }
    }
  };
  const results = {};
  const [session] = await freshSessions(variant, 1);
  const headers = authHeaders(session);
  results.public = perRequest(
    await window(() => sequential(() => request(port, 'GET', '/public', { headers }))),
  );
  const loginSessions = [];
  results.login = perRequest(
    await window(() =>
      sequential(async () => {
        const created = await login(port);
        loginSessions.push(created);
        return created.response;
      }),
    ),
  );
  results.me = perRequest(
    await window(() => sequential(() => request(port, 'GET', '/me', { headers }))),
  );
  results.counter = perRequest(
    await window(() => sequential(() => request(port, 'POST', '/counter', { headers }))),
  );
  results.logout = perRequest(
    await window(() =>
      sequential((i) =>
        request(port, 'POST', '/logout', { headers: authHeaders(loginSessions[i]) }),
      ),
    ),
  );
  return results;
}
