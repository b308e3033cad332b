// Phase 3: login / read / write / logout traffic for STRESS_SOAK_SECONDS on the sample, on
// Express with the default MemoryStore and on Fastify with RedisStore (a private redis-server),
// both at once. Every few seconds each app's RSS (/proc/<pid>/status) and V8 heap after a full
// GC (through the inspector) are sampled. Fails when, over the second half, either keeps
// growing faster than its threshold, or on any unexpected answer.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectInspector } from './inspector.js';
import { rssBytes, startRedis, startSample } from './processes.js';
import { sessionCookieOf } from './raw-http.js';
import { COOKIE_NAME, SampleClient, USERS } from './sample-client.js';
import { log, mib, MiB, slope, table, Tally } from './stats.js';

/** Soaks shorter than this report the RSS slope without judging it. */
const RSS_JUDGED_FROM_SECONDS = 300;

/**
 * What one virtual user does, over and over. `step(name, send, wanted)` sends a request and
 * checks its status; a `503` (the store did not answer within the client's command timeout) is
 * counted and the request retried, so that one slow moment does not cascade into the steps
 * after it.
 */
async function iteration(client, user, tag, step) {
  const login = await step(
    'POST /auth/login',
    () => client.login(user).then((r) => r.response),
    200,
  );
  const cookie = sessionCookieOf(login, COOKIE_NAME);
  const csrf = await step(
    'GET /auth/csrf',
    () => client.request('GET', '/auth/csrf', { cookie }),
    200,
  );
  const csrfToken = csrf.json()?.csrfToken;
  // Reads.
  for (let i = 0; i < 5; i++) {
    await step('GET /me', () => client.request('GET', '/me', { cookie }), 200);
  }
  await step('GET /', () => client.request('GET', '/', { cookie }), 200);
  const adminStatus = user === USERS.admin ? 200 : 403;
  await step('GET /admin', () => client.request('GET', '/admin', { cookie }), adminStatus);
  // Writes: a second session (an API client's bearer token), then revoking it from the first.
  const userAgent = `nss-stress-soak ${tag}`;
  const headers = [['user-agent', userAgent]];
  const issued = await step(
    'POST /auth/token',
    () => client.token(user, { headers }).then((r) => r.response),
    200,
  );
  const token = issued.json()?.token;
  await step('GET /me (bearer)', () => client.request('GET', '/me', { bearer: token }), 200);
  const list = await step(
    'GET /auth/sessions',
    () => client.request('GET', '/auth/sessions', { cookie }),
    200,
  );
  const listed = list.json();
  const mine = Array.isArray(listed)
    ? listed.find((info) => info.userAgent === userAgent)
    : undefined;
  await step(
    'DELETE /auth/sessions/:id',
    () => client.unsafe('DELETE', `/auth/sessions/${mine?.id ?? 'not-listed'}`, cookie, csrfToken),
    200,
    403, // "No such session among yours": the attempt that timed out revoked it
  );
  await step(
    'GET /me (revoked bearer)',
    () => client.request('GET', '/me', { bearer: token }),
    401,
  );
  // Logout.
  await step('POST /auth/logout', () => client.logout(cookie, csrfToken), 200);
  await step('GET /me (logged out)', () => client.request('GET', '/me', { cookie }), 401);
}

function describeSeries(samples, key) {
  const at = (index) => samples[Math.min(samples.length - 1, Math.max(0, index))];
  const start = at(0);
  const middle = at(Math.floor(samples.length / 2));
  const end = at(samples.length - 1);
  const secondHalf = samples.slice(Math.floor(samples.length / 2));
  const perMinute =
    slope(secondHalf.map((sample) => [sample.seconds / 60, sample[key] / MiB])) || 0;
  const peak = Math.max(...samples.map((sample) => sample[key]));
  return { start: start[key], middle: middle[key], end: end[key], peak, perMinute };
}

export async function runSoak(config) {
  const failures = [];
  const seconds = config.soakSeconds;
  const intervalMs = Math.round(Math.min(5, Math.max(1, seconds / 60)) * 1000);
  const redis = await startRedis({ persistent: false });
  const secret = randomBytes(32).toString('base64url');
  const targets = [];
  try {
    const plan = [
      { platform: 'express', store: 'MemoryStore', env: {} },
      { platform: 'fastify', store: 'RedisStore', env: { REDIS_URL: redis.url } },
    ].filter((target) => config.platforms.includes(target.platform));
    for (const target of plan) {
      const app = await startSample({
        platform: target.platform,
        env: { ...target.env, SESSION_SECRET: secret },
        inspect: true,
      });
      const inspector = await connectInspector(app.inspectorUrl);
      await inspector.monitorLoop();
      targets.push({
        ...target,
        app,
        inspector,
        samples: [],
        unexpected: new Tally(),
        details: [],
        unavailable: new Tally(),
        unavailableDetails: [],
        loopDelays: [],
        steps: 0,
        iterations: 0,
      });
      log(`${target.platform} + ${target.store}: port ${app.port}, pid ${app.pid}`);
    }
    log(
      `${seconds} s of traffic, ${config.soakUsers} virtual users per app; RSS and heap (after a full GC) sampled at least ${intervalMs / 1000} s apart`,
    );

    const started = performance.now();
    const deadline = started + seconds * 1000;
    const users = [];
    for (const target of targets) {
      for (let index = 0; index < config.soakUsers; index++) {
        users.push(
          (async () => {
            const client = new SampleClient(target.app.port, { timeoutMs: 30_000 });
            const user = index % 2 === 0 ? USERS.alice : USERS.admin;
            const step = async (name, send, wanted, afterTimeout = wanted) => {
              for (let attempt = 0; ; attempt++) {
                const response = await send();
                target.steps++;
                if (response.status === 503 && attempt < 10) {
                  target.unavailable.add(name);
                  if (target.unavailableDetails.length < 5) {
                    target.unavailableDetails.push(
                      `${name} → 503 after ${Math.round(response.ms)} ms at ${Math.round((performance.now() - started) / 1000)} s`,
                    );
                  }
                  await sleep(100);
                  continue;
                }
                // A write that timed out may still have been done: its retry can find it done.
                const accepted = attempt > 0 ? [wanted, afterTimeout] : [wanted];
                if (!accepted.includes(response.status)) {
                  target.unexpected.add(`${name}: ${response.status} (not ${wanted})`);
                  if (target.details.length < 10) {
                    const message = response.json()?.message ?? response.text().slice(0, 100);
                    target.details.push(
                      `${name} → ${response.status} after ${Math.round(response.ms)} ms at ${Math.round((performance.now() - started) / 1000)} s: ${message}`,
                    );
                  }
                }
                return response;
              }
            };
            let round = 0;
            while (performance.now() < deadline) {
              try {
                await iteration(client, user, `${index}-${round++}`, step);
                target.iterations++;
              } catch (error) {
                target.unexpected.add(`error: ${error.message.slice(0, 120)}`);
                await sleep(100);
              }
            }
            client.close();
          })(),
        );
      }
    }
    const sampler = (async () => {
      while (performance.now() < deadline) {
        const at = (performance.now() - started) / 1000;
        for (const target of targets) {
          // The loop delay first: the forced GC below would count in the next window.
          const loop = await target.inspector.loopDelay();
          target.loopDelays.push(loop.max);
          const heap = await target.inspector.heapAfterGc();
          target.samples.push({ seconds: at, rss: rssBytes(target.app.pid), heap: heap.used });
        }
        await sleep(Math.max(0, Math.min(intervalMs, deadline - performance.now())));
      }
    })();
    let lastReport = performance.now();
    while (performance.now() < deadline) {
      await sleep(1_000);
      if (performance.now() - lastReport >= 60_000) {
        lastReport = performance.now();
        const line = targets
          .map((t) => {
            const last = t.samples.at(-1);
            return `${t.platform} ${t.iterations} rounds, RSS ${mib(last?.rss ?? NaN)}, heap ${mib(last?.heap ?? NaN)}`;
          })
          .join('; ');
        log(`  ${Math.round((performance.now() - started) / 1000)} s: ${line}`);
      }
    }
    await Promise.all([...users, sampler]);
    const elapsed = (performance.now() - started) / 1000;

    const rows = [
      ['app', 'series', 'start', 'middle', 'end', 'peak', 'slope, 2nd half', 'threshold', ''],
    ];
    for (const target of targets) {
      const name = `${target.platform} + ${target.store}`;
      log(
        `${name}: ${target.iterations} rounds (${Math.round(target.steps / elapsed)} checked requests/s), ${target.unexpected.total} unexpected answers${target.unexpected.total > 0 ? `: ${target.unexpected}` : ''}`,
      );
      const stalls = target.loopDelays.filter((delay) => delay >= 1_000).length;
      log(
        `  event loop: longest delay ${Math.round(Math.max(...target.loopDelays))} ms; ${stalls} of ${target.loopDelays.length} sampling windows had one ≥ 1 s`,
      );
      if (target.unavailable.total > 0) {
        log(
          `  503 (store slower than the 1 s command timeout), retried: ${target.unavailable.total} (${target.unavailable})`,
        );
        for (const detail of target.unavailableDetails) {
          log(`    ${detail}`);
        }
      }
      if (target.unexpected.total > 0) {
        failures.push(`${name}: unexpected answers ${target.unexpected}`);
        for (const detail of target.details) {
          log(`  ${detail}`);
        }
      }
      if (!target.app.running) {
        failures.push(`${name}: the app exited`);
      }
      if (target.samples.length < 6) {
        failures.push(`${name}: only ${target.samples.length} memory samples`);
        continue;
      }
      for (const [key, threshold] of [
        ['heap', config.soakMaxHeapSlope],
        ['rss', config.soakMaxRssSlope],
      ]) {
        const series = describeSeries(target.samples, key);
        // Under 5 minutes the RSS cannot tell the allocator's warm-up (scrypt's 16 MiB blocks on
        // the thread pool, heap pages) from growth: reported, not judged.
        const judged = key === 'heap' || seconds >= RSS_JUDGED_FROM_SECONDS;
        const ok = !judged || series.perMinute <= threshold;
        rows.push([
          name,
          key === 'heap' ? 'heap after GC' : 'RSS',
          mib(series.start),
          mib(series.middle),
          mib(series.end),
          mib(series.peak),
          `${series.perMinute >= 0 ? '+' : ''}${series.perMinute.toFixed(2)} MiB/min`,
          judged
            ? `${threshold} MiB/min`
            : `(${threshold} MiB/min from ${RSS_JUDGED_FROM_SECONDS} s)`,
          !judged ? '' : ok ? 'ok' : 'GROWING',
        ]);
        if (!ok) {
          failures.push(
            `${name}: ${key} grows ${series.perMinute.toFixed(2)} MiB/min over the second half (threshold ${threshold})`,
          );
        }
      }
      // A few points of the series, to see it level off.
      const step = Math.max(1, Math.floor(target.samples.length / 10));
      const points = target.samples
        .filter((_, index) => index % step === 0 || index === target.samples.length - 1)
        .map(
          (s) =>
            `${Math.round(s.seconds)}s ${(s.rss / MiB).toFixed(0)}/${(s.heap / MiB).toFixed(1)}`,
        );
      log(`  RSS/heap MiB: ${points.join(', ')}`);
    }
    log();
    log(table(rows));
    return { failures, targets: rows };
  } finally {
    for (const target of targets) {
      target.inspector.close();
    }
    await Promise.allSettled(targets.map((target) => target.app.stop()));
    await redis.stop();
  }
}
