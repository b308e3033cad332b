// Phase 1: malformed and forged cookies and Authorization headers against every route of the
// sample, on Express and Fastify, with server-side sessions (MemoryStore) and stateless ones
// (SESSION_STORE=cookie). Fails on any 5xx, on any forged request that gets a 2xx on a
// protected route, re-signs a token, or sees a victim's token, CSRF token or user id, on an
// app that crashes, and on a victim who is logged out by forged requests.
import { randomBytes, randomInt } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { CATEGORIES, deriveKey, keyIdOf, random } from './forgery.js';
import { startSample } from './processes.js';
import { requestBytes, RawConnection } from './raw-http.js';
import { COOKIE_NAME, loggedIn, SampleClient, USERS } from './sample-client.js';
import { log, table, Tally } from './stats.js';

/** Every route of the sample; `protected` ones must never answer 2xx to a forged request. */
function routesOf(victims) {
  return [
    { method: 'GET', path: '/', protected: false },
    { method: 'GET', path: '/auth/csrf', protected: false },
    // Wrong credentials, so that the session layer (CSRF checks included) meets the forged
    // credentials and nothing else may authenticate. A wrong password costs an scrypt hash
    // (~50 ms of CPU): these two routes get a third of the share, and most of their bodies
    // fail before the hash (see LOGIN_BODIES).
    { method: 'POST', path: '/auth/login', protected: false, login: true, weight: 2 },
    { method: 'POST', path: '/auth/token', protected: false, login: true, weight: 2 },
    { method: 'POST', path: '/auth/logout', protected: false },
    { method: 'GET', path: '/me', protected: true },
    { method: 'HEAD', path: '/me', protected: true, weight: 2 },
    { method: 'GET', path: '/admin', protected: true },
    { method: 'GET', path: '/auth/sessions', protected: true },
    { method: 'DELETE', path: `/auth/sessions/${victims.ids[0] ?? 'x'}`, protected: true },
    { method: 'POST', path: '/auth/logout-all', protected: true },
  ];
}

/** Bodies of the forged logins: a wrong password, a missing or non-string one, broken JSON. */
const LOGIN_BODIES = [
  JSON.stringify({ username: 'alice', password: 'not-her-password' }),
  JSON.stringify({ username: 'admin' }),
  JSON.stringify({ username: 'admin', password: ['admin-password'] }),
  JSON.stringify({ username: 'alice', password: 'x'.repeat(1025) }),
  JSON.stringify({}),
  '{"username":"alice","password":',
  'null',
  '"alice"',
  '42',
  'true',
  '[]',
  '',
];

/** Logs the victims in; returns their valid credentials and some already ended. */
async function prepareVictims(app, mode) {
  const client = new SampleClient(app.port);
  const victims = { cookies: [], bearers: [], ids: [], csrfTokens: [], secrets: [] };
  const revoked = { cookies: [], bearers: [] };
  const sessions = [];
  for (const user of [USERS.alice, USERS.admin, USERS.alice, USERS.admin]) {
    const session = await loggedIn(client, user);
    sessions.push({ user, ...session });
    victims.cookies.push(session.value);
    victims.csrfTokens.push(session.csrfToken);
    if (mode === 'server-side') {
      const { token } = await client.token(user);
      victims.bearers.push(token);
    }
  }
  if (mode === 'server-side') {
    for (const session of sessions) {
      const listed = (
        await client.request('GET', '/auth/sessions', { cookie: session.cookie })
      ).json();
      for (const info of listed ?? []) {
        if (!victims.ids.includes(info.id)) {
          victims.ids.push(info.id);
        }
      }
    }
  }
  // Ended sessions whose credentials must stay dead: logged out, and (server-side) a bearer
  // session revoked through DELETE /auth/sessions/:id.
  for (const user of [USERS.alice, USERS.admin]) {
    const session = await loggedIn(client, user);
    const response = await client.logout(session.cookie, session.csrfToken);
    if (response.status !== 200) {
      throw new Error(`logout answered ${response.status}`);
    }
    revoked.cookies.push(session.value);
    if (mode === 'server-side') {
      const before = new Set(
        (
          (await client.request('GET', '/auth/sessions', { cookie: sessions[0].cookie })).json() ??
          []
        ).map((info) => info.id),
      );
      const { token } = await client.token(user);
      const owner = user === USERS.alice ? sessions[0] : sessions[1];
      const listed =
        (await client.request('GET', '/auth/sessions', { cookie: owner.cookie })).json() ?? [];
      const fresh = listed.find((info) => !before.has(info.id) && !victims.ids.includes(info.id));
      if (fresh === undefined) {
        throw new Error('could not find the bearer session to revoke');
      }
      const deleted = await client.unsafe(
        'DELETE',
        `/auth/sessions/${fresh.id}`,
        owner.cookie,
        owner.csrfToken,
      );
      if (deleted.status !== 200) {
        throw new Error(`revoking a session answered ${deleted.status}: ${deleted.text()}`);
      }
      revoked.bearers.push(token);
    }
  }
  client.close();
  victims.secrets = [
    ...victims.cookies,
    ...victims.bearers,
    ...victims.csrfTokens,
    ...revoked.cookies,
    ...revoked.bearers,
  ];
  return { victims, revoked, sessions };
}

/** The victims' credentials still work, and the ended ones still do not. */
async function checkVictims(app, { victims, revoked }, failures, label) {
  const client = new SampleClient(app.port);
  for (const value of victims.cookies) {
    const status = (await client.request('GET', '/me', { cookie: `${COOKIE_NAME}=${value}` }))
      .status;
    if (status !== 200) {
      failures.push(
        `${label}: a victim's valid cookie answers ${status} after the fuzz (logged out by forged requests?)`,
      );
    }
  }
  for (const token of victims.bearers) {
    const status = (await client.request('GET', '/me', { bearer: token })).status;
    if (status !== 200) {
      failures.push(`${label}: a victim's bearer token answers ${status} after the fuzz`);
    }
  }
  for (const value of revoked.cookies) {
    const status = (await client.request('GET', '/me', { cookie: `${COOKIE_NAME}=${value}` }))
      .status;
    if (status !== 401) {
      failures.push(`${label}: a logged-out cookie answers ${status} after the fuzz`);
    }
  }
  for (const token of revoked.bearers) {
    const status = (await client.request('GET', '/me', { bearer: token })).status;
    if (status !== 401) {
      failures.push(`${label}: a revoked bearer token answers ${status} after the fuzz`);
    }
  }
  client.close();
}

/** A request's bytes in a form to paste into a bug report. */
function printable(bytes) {
  const text = bytes.toString('latin1');
  const shown = text.length > 600 ? `${text.slice(0, 600)}…(${text.length} bytes)` : text;
  return JSON.stringify(shown);
}

async function fuzzTarget({ app, mode, requests, connections, seed, prepared, sealing }) {
  const label = `${app.platform}/${mode}`;
  const failures = [];
  const examples = [];
  const { victims, revoked } = prepared;
  const rng = random(seed);
  const wrongKeys = Array.from({ length: 4 }, () =>
    deriveKey(
      randomBytes(32).toString('base64url'),
      mode === 'stateless' ? 'cookie-sealing' : 'token-signing',
    ),
  );
  const ctx = { cookieName: COOKIE_NAME, victims, revoked, wrongKeys, sealing };
  // Each category meets every route in turn; routes without a weight count 6.
  const routes = routesOf(victims).flatMap((route) => Array(route.weight ?? 6).fill(route));
  const categories = CATEGORIES.filter((category) => category.modes.includes(mode));
  const stats = new Map(
    categories.map((c) => [
      c.name,
      { answers: new Tally(), fivexx: 0, auth: 0, leaks: 0, noAnswer: 0 },
    ]),
  );
  const origin = `http://127.0.0.1:${app.port}`;
  let issued = 0;
  const next = () => {
    if (issued >= requests) {
      return null;
    }
    const category = categories[issued % categories.length];
    const route = routes[Math.floor(issued / categories.length) % routes.length];
    issued++;
    const made = category.make(rng, ctx);
    const headers = [['user-agent', 'nss-stress-fuzz']];
    for (const cookie of made.cookies ?? []) {
      headers.push(['cookie', cookie]);
    }
    for (const authorization of made.authorization ?? []) {
      headers.push(['authorization', authorization]);
    }
    if (route.method !== 'GET' && route.method !== 'HEAD') {
      // Same origin and a CSRF token: half the time a victim's (stolen without the cookie).
      headers.push(['origin', origin]);
      headers.push(['x-csrf-token', rng.chance(0.5) ? rng.pick(victims.csrfTokens) : 'junk']);
    }
    let body;
    if (route.login) {
      body = rng.pick(LOGIN_BODIES);
      headers.push(['content-type', 'application/json']);
    }
    return {
      category,
      route,
      bytes: requestBytes(`127.0.0.1:${app.port}`, route.method, route.path, headers, body),
    };
  };
  const note = (kind, job, detail) => {
    failures.push(
      `${label} ${job.category.name} → ${job.route.method} ${job.route.path}: ${kind} ${detail}`,
    );
    if (examples.length < 10) {
      examples.push(`${kind}: ${printable(job.bytes)}`);
    }
  };
  const worker = async () => {
    const connection = new RawConnection(app.port, { timeoutMs: 30_000 });
    for (let job = next(); job !== null; job = next()) {
      const entry = stats.get(job.category.name);
      let response;
      try {
        response = await connection.send(job.bytes, { method: job.route.method });
      } catch (error) {
        entry.noAnswer++;
        entry.answers.add('none');
        if (!app.running) {
          note('crash', job, app.output().slice(-3000));
          return;
        }
        if (!/closed before a complete answer/.test(error.message)) {
          note('no answer', job, error.message);
        }
        continue;
      }
      entry.answers.add(response.status);
      if (response.status >= 500) {
        entry.fivexx++;
        note(`${response.status}`, job, response.text().slice(0, 300));
      }
      if (job.route.protected && response.status >= 200 && response.status < 300) {
        entry.auth++;
        note('authenticated', job, response.text().slice(0, 300));
      }
      if (response.header('x-session-token') !== undefined) {
        entry.auth++;
        note('re-signed token', job, response.header('x-session-token'));
      }
      const everything = `${[...response.headers.values()].flat().join('\n')}\n${response.text()}`;
      if (
        victims.secrets.some((secret) => everything.includes(secret)) ||
        /"userId"/.test(response.text())
      ) {
        entry.leaks++;
        note('leak', job, response.text().slice(0, 300));
      }
    }
    connection.close();
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: connections }, () => worker()));
  const seconds = (performance.now() - started) / 1000;
  if (!app.running) {
    failures.push(`${label}: the app exited\n${app.output().slice(-3000)}`);
  } else {
    await checkVictims(app, prepared, failures, label);
  }
  return { label, stats, failures, examples, seconds, requests: issued };
}

/** Positive control: the detector sees the valid credentials authenticate. */
async function control(app, prepared) {
  const client = new SampleClient(app.port);
  let ok = 0;
  let total = 0;
  for (const value of prepared.victims.cookies) {
    total++;
    ok +=
      (await client.request('GET', '/me', { cookie: `${COOKIE_NAME}=${value}` })).status === 200
        ? 1
        : 0;
  }
  for (const token of prepared.victims.bearers) {
    total++;
    ok += (await client.request('GET', '/me', { bearer: token })).status === 200 ? 1 : 0;
  }
  client.close();
  return { ok, total };
}

export async function runFuzz(config) {
  const failures = [];
  const seed = Number(process.env.STRESS_SEED ?? randomInt(2 ** 31));
  log(
    `seed ${seed} (STRESS_SEED=${seed} makes the same requests again); ${config.fuzzRequests} requests per platform, ${config.fuzzConnections} connections`,
  );
  const results = [];
  for (const platform of config.platforms) {
    // Three quarters on server-side sessions (signed tokens, bearer tokens), a quarter stateless.
    const split = [
      ['server-side', Math.ceil(config.fuzzRequests * 0.75), {}],
      ['stateless', Math.floor(config.fuzzRequests * 0.25), { SESSION_STORE: 'cookie' }],
    ];
    for (const [mode, requests, env] of split) {
      const secret = randomBytes(32).toString('base64url');
      const app = await startSample({ platform, env: { ...env, SESSION_SECRET: secret } });
      try {
        const prepared = await prepareVictims(app, mode);
        const sealingKey = deriveKey(secret, 'cookie-sealing');
        const sealing = { keyId: keyIdOf(sealingKey) };
        if (mode === 'stateless' && !prepared.victims.cookies[0].startsWith(`${sealing.keyId}.`)) {
          throw new Error('the harness derives another sealing key id than the library');
        }
        const before = await control(app, prepared);
        if (before.ok !== before.total) {
          throw new Error(
            `positive control failed: ${before.ok}/${before.total} valid credentials accepted`,
          );
        }
        const result = await fuzzTarget({
          app,
          mode,
          requests,
          connections: config.fuzzConnections,
          seed: seed + results.length,
          prepared,
          sealing,
        });
        result.control = before;
        results.push(result);
        failures.push(...result.failures);
        log(
          `${result.label}: ${result.requests} requests in ${Math.round(result.seconds)} s (${Math.round(result.requests / result.seconds)}/s); controls ${before.ok}/${before.total} valid credentials accepted`,
        );
      } finally {
        await app.stop();
      }
    }
  }

  // Per category, over every target.
  const rows = [['category', 'target', 'requests', '5xx', 'auth', 'leak', 'answers']];
  const totals = new Map();
  for (const result of results) {
    for (const [name, entry] of result.stats) {
      rows.push([
        name,
        result.label,
        entry.answers.total,
        entry.fivexx,
        entry.auth,
        entry.leaks,
        entry.answers.toString(),
      ]);
      const total = totals.get(name) ?? { requests: 0, fivexx: 0, auth: 0, leaks: 0 };
      total.requests += entry.answers.total;
      total.fivexx += entry.fivexx;
      total.auth += entry.auth;
      total.leaks += entry.leaks;
      totals.set(name, total);
    }
  }
  log();
  log(table(rows));
  log();
  const summaryRows = [['category', 'requests', '5xx', 'authenticated', 'leaks']];
  let all = { requests: 0, fivexx: 0, auth: 0, leaks: 0 };
  for (const [name, total] of totals) {
    summaryRows.push([name, total.requests, total.fivexx, total.auth, total.leaks]);
    all = {
      requests: all.requests + total.requests,
      fivexx: all.fivexx + total.fivexx,
      auth: all.auth + total.auth,
      leaks: all.leaks + total.leaks,
    };
  }
  summaryRows.push(['all', all.requests, all.fivexx, all.auth, all.leaks]);
  log(table(summaryRows));
  for (const platform of config.platforms) {
    const count = results
      .filter((r) => r.label.startsWith(`${platform}/`))
      .reduce((sum, r) => sum + r.requests, 0);
    log(`${platform}: ${count} forged requests`);
  }
  const examples = results.flatMap((r) => r.examples.map((e) => `${r.label} ${e}`));
  if (examples.length > 0) {
    log('first failing requests (raw bytes):');
    for (const example of examples.slice(0, 10)) {
      log(`  ${example}`);
    }
  }
  return { failures, totals: all, seed };
}
