// Phase 2: the sample on Express and on Fastify, both on one private redis-server, under load;
// the redis-server is SIGKILLed and restarted on the same port, several times, without
// restarting the apps. Fails on any 5xx but 503, on a public route that stops answering 200, on
// a protected route answering 200 while Redis is down, and on a recovery slower than the bound.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { startRedis, startSample } from './processes.js';
import { loggedIn, SampleClient, USERS } from './sample-client.js';
import { log, median, ms, quantile, table, Tally } from './stats.js';

/**
 * Routes of the load, and what each may answer: `public` ones must answer 200 throughout. The
 * sample's `GET /` with a cookie renders the signed-in account page, so it reads the presented
 * session and fails closed (503) while Redis is down, as any route that reads a session does.
 */
const ACTIONS = [
  { name: 'GET / (no cookie)', kind: 'public' },
  { name: 'GET / (with cookie)', kind: 'session' },
  { name: 'GET /me (cookie)', kind: 'protected' },
  { name: 'GET /me (bearer)', kind: 'protected' },
  { name: 'GET /admin (bearer)', kind: 'protected' },
  { name: 'GET /auth/sessions (cookie)', kind: 'protected' },
  { name: 'GET /auth/csrf (with cookie)', kind: 'session' },
  { name: 'POST /auth/login', kind: 'session' },
  { name: 'POST /auth/logout', kind: 'session' },
];

/** Connections per app probing GET /me for the recovery time. */
const PROBERS = 3;

/**
 * Where a request falls: `down` when sent after a kill and answered before the restarted
 * server's first PONG, `at kill` when sent before a kill and answered after it (it may have been
 * served before), `recovering` when answered between the first PONG and the first 200 of the
 * probe, else `up`.
 */
function phaseOf(entry, outages, app) {
  for (const outage of outages) {
    if (entry.started >= outage.killedAt && entry.time < outage.upAt) {
      return 'down';
    }
    if (entry.started < outage.killedAt && entry.time >= outage.killedAt) {
      return 'at kill';
    }
    const recovered = outage.recovered.get(app) ?? Infinity;
    if (entry.time >= outage.upAt && entry.time < recovered) {
      return 'recovering';
    }
  }
  return 'up';
}

/**
 * The longest time in [from, to] during which the app answered nothing on any connection: when
 * the machine's other work keeps it off the CPU, that time is not the reconnection's.
 */
function longestSilence(app, records, from, to) {
  const times = [...records.map((entry) => entry.time), ...app.probes.map((probe) => probe.time)]
    .filter((time) => time > from && time <= to)
    .sort((a, b) => a - b);
  let previous = from;
  let longest = 0;
  for (const time of times) {
    longest = Math.max(longest, time - previous);
    previous = time;
  }
  return longest;
}

export async function runRedisOutage(config) {
  const failures = [];
  const warnings = [];
  const redis = await startRedis();
  log(
    `redis-server ${redis.version} on 127.0.0.1:${redis.port} (pid ${redis.pid}, AOF fsync always)`,
  );
  const secret = randomBytes(32).toString('base64url');
  const apps = [];
  const stoppers = [];
  try {
    for (const platform of config.platforms) {
      const app = await startSample({
        platform,
        env: {
          REDIS_URL: redis.url,
          SESSION_SECRET: secret,
          SESSION_PREFIX: `stress-${platform}:`,
        },
      });
      stoppers.push(app);
      apps.push(app);
      log(`sample on ${platform}: port ${app.port}, pid ${app.pid}`);
    }

    const outages = [];
    const records = new Map(apps.map((app) => [app, []]));
    let stopping = false;

    // Per app: probe credentials (alice by cookie, admin by bearer), load workers, one prober.
    const running = [];
    for (const app of apps) {
      const setup = new SampleClient(app.port);
      const alice = await loggedIn(setup, USERS.alice);
      const { token: adminToken } = await setup.token(USERS.admin);
      setup.close();
      const pendingLogouts = [];
      const record = (action, status, started) => {
        records.get(app).push({ action, status, time: performance.now(), started });
      };
      const reads = ACTIONS.filter((action) => !action.name.startsWith('POST'));
      const writes = ACTIONS.filter((action) => action.name.startsWith('POST'));
      const loop = async (actions, offset, pauseMs) => {
        const client = new SampleClient(app.port, { timeoutMs: 5_000 });
        let turn = offset;
        while (!stopping) {
          const action = actions[turn++ % actions.length];
          const started = performance.now();
          try {
            const status = await perform(client, action.name);
            record(action, status, started);
          } catch (error) {
            record(action, `no answer (${error.message})`, started);
          }
          await sleep(pauseMs);
        }
        client.close();
      };
      const worker = (index) => loop(reads, index, 5);
      // Logins cost an scrypt hash (~50 ms of CPU): one writer, a login or logout every ~50 ms.
      const writer = () => loop(writes, 0, 50);
      const perform = async (client, name) => {
        switch (name) {
          case 'GET / (no cookie)':
            return (await client.request('GET', '/')).status;
          case 'GET / (with cookie)':
            return (await client.request('GET', '/', { cookie: alice.cookie })).status;
          case 'GET /me (cookie)':
            return (await client.request('GET', '/me', { cookie: alice.cookie })).status;
          case 'GET /me (bearer)':
            return (await client.request('GET', '/me', { bearer: adminToken })).status;
          case 'GET /admin (bearer)':
            return (await client.request('GET', '/admin', { bearer: adminToken })).status;
          case 'GET /auth/sessions (cookie)':
            return (await client.request('GET', '/auth/sessions', { cookie: alice.cookie })).status;
          case 'GET /auth/csrf (with cookie)':
            return (await client.csrf(alice.cookie)).response.status;
          case 'POST /auth/login': {
            // Bounded: at most 10 sessions of this load alive at once (maxSessionsPerUser 50).
            if (pendingLogouts.length >= 10) {
              return 'skipped';
            }
            const { response, cookie } = await client.login(USERS.admin);
            if (cookie !== undefined) {
              pendingLogouts.push(cookie);
            }
            return response.status;
          }
          case 'POST /auth/logout': {
            const cookie = pendingLogouts.shift();
            if (cookie === undefined) {
              return 'skipped';
            }
            const { response: csrf, csrfToken } = await client.csrf(cookie);
            if (csrf.status !== 200) {
              pendingLogouts.push(cookie);
              return csrf.status;
            }
            const response = await client.logout(cookie, csrfToken);
            if (response.status !== 200) {
              pendingLogouts.push(cookie); // retried later: no session left behind
            }
            return response.status;
          }
        }
        throw new Error(name);
      };
      for (let index = 0; index < config.redisConnections; index++) {
        running.push(worker(index));
      }
      running.push(writer());
      // Probers: GET /me with alice's cookie on PROBERS connections, each every ~10 ms, for the
      // recovery times (several, so that one slow answer does not hide the recovery).
      app.probes = [];
      for (let index = 0; index < PROBERS; index++) {
        running.push(
          (async () => {
            const client = new SampleClient(app.port, { timeoutMs: 5_000 });
            await sleep(index * 4);
            while (!stopping) {
              const sent = performance.now();
              try {
                const response = await client.request('GET', '/me', { cookie: alice.cookie });
                app.probes.push({ sent, time: performance.now(), status: response.status });
              } catch {
                app.probes.push({ sent, time: performance.now(), status: 0 });
              }
              await sleep(10);
            }
            client.close();
          })(),
        );
      }
    }

    await sleep(config.redisWarmupMs);
    for (let kill = 0; kill < config.redisKills; kill++) {
      const downMs = config.redisDownMs[kill % config.redisDownMs.length];
      const killedAt = performance.now();
      await redis.kill();
      await sleep(downMs);
      const upAt = await redis.restart();
      const outage = { killedAt, upAt, downMs, recovered: new Map(), silence: new Map() };
      outages.push(outage);
      const deadline = performance.now() + 15_000;
      for (const app of apps) {
        for (;;) {
          const ok = app.probes.find((probe) => probe.time >= upAt && probe.status === 200);
          if (ok !== undefined) {
            outage.recovered.set(app, ok.time);
            break;
          }
          if (performance.now() > deadline) {
            failures.push(
              `${app.platform}: no 200 on GET /me within 15 s of Redis restart ${kill + 1}`,
            );
            outage.recovered.set(app, Infinity);
            break;
          }
          await sleep(5);
        }
      }
      const line = apps
        .map((app) => {
          outage.silence.set(
            app,
            longestSilence(app, records.get(app), upAt, outage.recovered.get(app)),
          );
          return `${app.platform} ${ms(outage.recovered.get(app) - upAt)} (app silent ≤ ${ms(outage.silence.get(app))})`;
        })
        .join(', ');
      log(
        `  kill ${kill + 1}/${config.redisKills}: down ${downMs} ms; first 200 after restart: ${line}`,
      );
      if (process.env.STRESS_TRACE === '1') {
        for (const app of apps) {
          const trace = app.probes
            .filter(
              (probe) => probe.time >= upAt - 100 && probe.time <= outage.recovered.get(app) + 1,
            )
            .map((probe) => `${Math.round(probe.time - upAt)}:${probe.status}`);
          log(`    ${app.platform}: ${trace.join(' ')}`);
        }
      }
      await sleep(config.redisUpMs);
    }
    stopping = true;
    await Promise.all(running);

    // Verdicts.
    const rows = [['platform', 'route', 'phase', 'answers']];
    const recoveries = [];
    for (const app of apps) {
      if (!app.running) {
        failures.push(`${app.platform}: the app process exited (${app.output().slice(-2000)})`);
      }
      const byRoute = new Map();
      for (const entry of records.get(app)) {
        if (entry.status === 'skipped') {
          continue;
        }
        const phase = phaseOf(entry, outages, app);
        const key = `${entry.action.name}\u0000${phase}`;
        const tally = byRoute.get(key) ?? new Tally();
        tally.add(entry.status);
        byRoute.set(key, tally);
        const status = entry.status;
        const where = `${app.platform} ${entry.action.name} (${phase})`;
        if (typeof status !== 'number') {
          failures.push(`${where}: ${status}`);
        } else if (status >= 500 && status !== 503) {
          failures.push(`${where}: ${status}`);
        } else if (entry.action.kind === 'public' && status !== 200) {
          failures.push(`${where}: ${status} on a public route`);
        } else if (phase === 'down' && entry.action.kind === 'protected' && status < 300) {
          failures.push(`${where}: ${status} while Redis was down`);
        }
      }
      for (const action of ACTIONS) {
        for (const phase of ['up', 'at kill', 'down', 'recovering']) {
          const tally = byRoute.get(`${action.name}\u0000${phase}`);
          if (tally !== undefined) {
            rows.push([app.platform, action.name, phase, tally.toString()]);
          }
        }
      }
      const down503 = records
        .get(app)
        .filter(
          (entry) =>
            entry.action.kind === 'protected' &&
            entry.status === 503 &&
            phaseOf(entry, outages, app) === 'down',
        ).length;
      if (down503 === 0) {
        failures.push(`${app.platform}: no 503 on a protected route while Redis was down`);
      }
      for (const outage of outages) {
        const recovery = outage.recovered.get(app) - outage.upAt;
        recoveries.push({ platform: app.platform, recovery });
        // Over the bound by more than the app was silent (answering nothing at all, public
        // routes included: off the CPU, not reconnecting) is the reconnection's fault.
        const silence = outage.silence.get(app);
        if (!(recovery <= config.redisMaxRecoveryMs)) {
          const excess = recovery - silence > config.redisMaxRecoveryMs;
          (excess ? failures : warnings).push(
            `${app.platform}: first 200 ${ms(recovery)} after Redis accepted connections (bound ${config.redisMaxRecoveryMs} ms; the app answered nothing at all for ${ms(silence)} of it)`,
          );
        }
      }
      const values = outages.map((outage) => outage.recovered.get(app) - outage.upAt);
      if (!(median(values) <= config.redisMaxRecoveryMs)) {
        failures.push(
          `${app.platform}: median recovery ${ms(median(values))} (bound ${config.redisMaxRecoveryMs} ms)`,
        );
      }
    }
    for (const app of apps) {
      const latencies = records
        .get(app)
        .filter((entry) => phaseOf(entry, outages, app) === 'up' && entry.status !== 'skipped')
        .map((entry) => entry.time - entry.started);
      log(
        `${app.platform}: latency while Redis is up: median ${ms(median(latencies))}, p90 ${ms(quantile(latencies, 0.9))}, max ${ms(Math.max(...latencies))} (${latencies.length} requests)`,
      );
    }
    log();
    log(table(rows));
    log();
    const summary = [];
    for (const platform of config.platforms) {
      const values = recoveries.filter((r) => r.platform === platform).map((r) => r.recovery);
      summary.push({
        platform,
        count: values.length,
        min: Math.min(...values),
        median: median(values),
        max: Math.max(...values),
      });
      log(
        `recovery on ${platform} (restarted redis-server's first PONG → first 200 on GET /me), ` +
          `${values.length} kills: min ${ms(Math.min(...values))} / median ${ms(median(values))} / max ${ms(Math.max(...values))}`,
      );
    }
    for (const warning of warnings) {
      log(`warning: ${warning}`);
    }
    return { failures, summary, outages: outages.length };
  } finally {
    await Promise.allSettled(stoppers.map((app) => app.stop()));
    await redis.stop();
  }
}
