// The benchmark's own redis-server (never the shared one): start, observe, stop.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clearTimeout, setTimeout } from 'node:timers';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';

/** A free loopback TCP port. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts `redis-server` on a free loopback port without persistence. Resolves to
 * `{ port, pid, client, stop() }`; `client` is an ioredis connection for INFO queries.
 */
export async function startRedis() {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'nss-bench-redis-'));
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
      '--daemonize',
      'no',
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const exited = new Promise((resolve) => child.once('exit', resolve));
  let client;
  for (let attempt = 0; attempt < 100; attempt++) {
    if (child.exitCode !== null) {
      throw new Error(`redis-server exited with code ${child.exitCode}`);
    }
    try {
      client = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0 });
      client.on('error', () => {});
      await client.connect();
      await client.ping();
      break;
    } catch {
      client?.disconnect();
      client = undefined;
      await sleep(50);
    }
  }
  if (client === undefined) {
    child.kill('SIGKILL');
    throw new Error(`redis-server did not answer on port ${port}`);
  }
  const version = /redis_version:(\S+)/.exec(await client.info('server'))?.[1] ?? '?';
  return {
    port,
    pid: child.pid,
    version,
    client,
    async stop() {
      client.disconnect();
      if (child.exitCode === null) {
        process.kill(child.pid, 'SIGTERM');
        const timer = sleep(3000).then(() => {
          if (child.exitCode === null) {
            process.kill(child.pid, 'SIGKILL');
          }
        });
        await Promise.race([exited, timer]);
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** `INFO commandstats` as `{ command: calls }` plus `INFO stats` counters we use. */
export async function redisCounters(client) {
  const [commandstats, stats] = await Promise.all([
    client.info('commandstats'),
    client.info('stats'),
  ]);
  const commands = {};
  for (const match of commandstats.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    commands[match[1]] = Number(match[2]);
  }
  const reads = Number(/total_reads_processed:(\d+)/.exec(stats)?.[1] ?? NaN);
  return { commands, reads };
}

/** Calls per command between two `redisCounters` snapshots, our own INFO calls left out. */
export function commandDelta(before, after) {
  const delta = {};
  for (const [command, calls] of Object.entries(after.commands)) {
    const diff = calls - (before.commands[command] ?? 0);
    if (diff > 0 && command !== 'info' && command !== 'echo') {
      delta[command] = diff;
    }
  }
  return delta;
}

function withTimeout(promise, message, ms = 10_000) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * A MONITOR connection: tells client-issued commands from commands run inside Lua scripts
 * (which `INFO commandstats` counts alike). `mark()` ends a window and returns its counts,
 * leaving out the commands of the connection that sent the marker (our INFO client).
 */
export async function startMonitor(port, infoClient) {
  const socket = createConnection({ host: '127.0.0.1', port });
  await new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  let buffer = '';
  let lines = [];
  let waiter = null;
  let started;
  const monitoring = new Promise((resolve) => {
    started = resolve;
  });
  socket.setEncoding('utf8');
  socket.on('data', (text) => {
    buffer += text;
    const parts = buffer.split('\r\n');
    buffer = parts.pop() ?? '';
    for (const line of parts) {
      if (line === '+OK') {
        started();
        continue;
      }
      lines.push(line);
      if (waiter !== null && line.includes(`"${waiter.marker}"`)) {
        const done = waiter;
        waiter = null;
        done.resolve();
      }
    }
  });
  socket.write('MONITOR\r\n');
  await withTimeout(monitoring, 'MONITOR did not start');
  let sequence = 0;
  async function mark() {
    const marker = `nss-bench-mark-${++sequence}`;
    const seen = new Promise((resolve) => {
      waiter = { marker, resolve };
    });
    await infoClient.echo(marker);
    await withTimeout(seen, 'MONITOR did not show the marker');
    const window = lines;
    lines = [];
    let markerSource = null;
    const parsed = [];
    for (const line of window) {
      const match = /^\+\d+\.\d+ \[\d+ ([^\]]+)\] "([^"]*)"(?: "([^"]*)")?/.exec(line);
      if (match === null) {
        continue;
      }
      if (match[2].toLowerCase() === 'echo' && match[3]?.startsWith('nss-bench-mark-')) {
        markerSource = match[1];
        continue;
      }
      parsed.push({ source: match[1], command: match[2].toLowerCase() });
    }
    const client = {};
    const script = {};
    for (const { source, command } of parsed) {
      if (source === markerSource) {
        continue;
      }
      const target = source === 'lua' ? script : client;
      target[command] = (target[command] ?? 0) + 1;
    }
    return { client, script };
  }
  await mark();
  return {
    mark,
    stop() {
      socket.destroy();
    },
  };
}
