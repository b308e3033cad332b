// Child processes of the stress run: the built sample app and private redis-servers, each on a
// free loopback port, each stopped by its own pid (never by name).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { clearTimeout, setTimeout } from 'node:timers';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Client } from './raw-http.js';

export const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const HOST = '127.0.0.1';
const MAX_OUTPUT_CHARS = 200_000;

/** Every child still running, killed if this process exits without stopping them. */
const running = new Set();
process.once('exit', () => {
  for (const child of running) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
    }
  }
});

/** A free TCP port on the loopback interface. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, HOST, () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function track(child) {
  running.add(child);
  const exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', (error) => resolve({ code: null, signal: null, error }));
  });
  void exited.then(() => running.delete(child));
  return exited;
}

function isRunning(child) {
  return child.exitCode === null && child.signalCode === null;
}

async function stopChild(child, exited, timeoutMs = 5_000) {
  if (!isRunning(child) || child.pid === undefined) {
    return;
  }
  process.kill(child.pid, 'SIGTERM');
  const timer = setTimeout(() => {
    if (isRunning(child)) {
      process.kill(child.pid, 'SIGKILL');
    }
  }, timeoutMs);
  await exited;
  clearTimeout(timer);
}

/**
 * Starts the built sample (`node sample/dist/main.js`) on a free port. `inspect: true` adds
 * `--inspect=127.0.0.1:0` (memory is read through the inspector, never through an endpoint of
 * the app). Resolves once `GET /` answers.
 */
export async function startSample({ platform, env = {}, inspect = false }) {
  const port = await freePort();
  const execArgv = inspect ? ['--inspect=127.0.0.1:0'] : [];
  const childEnv = { ...process.env, ...env, PORT: String(port), HOST, SESSION_PLATFORM: platform };
  for (const key of Object.keys(childEnv)) {
    if (key.startsWith('npm_') || key === 'NODE_OPTIONS' || childEnv[key] === undefined) {
      delete childEnv[key];
    }
  }
  const child = spawn(process.execPath, [...execArgv, join('sample', 'dist', 'main.js')], {
    cwd: ROOT,
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = track(child);
  let output = '';
  let inspectorUrl;
  const collect = (chunk) => {
    output += chunk;
    if (output.length > MAX_OUTPUT_CHARS) {
      output = output.slice(-MAX_OUTPUT_CHARS);
    }
    inspectorUrl ??= /Debugger listening on (ws:\/\/\S+)/.exec(output)?.[1];
  };
  child.stdout.setEncoding('utf8').on('data', collect);
  child.stderr.setEncoding('utf8').on('data', collect);
  const app = {
    platform,
    port,
    pid: child.pid,
    get inspectorUrl() {
      return inspectorUrl;
    },
    get running() {
      return isRunning(child);
    },
    exited,
    output: () => output,
    stop: () => stopChild(child, exited),
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (!isRunning(child)) {
      throw new Error(`the sample (${platform}) exited before answering:\n${output}`);
    }
    const client = new Client(port, { timeoutMs: 2_000 });
    try {
      await client.request('GET', '/');
      break;
    } catch {
      // Not listening yet.
    } finally {
      client.close();
    }
    if (Date.now() > deadline) {
      await app.stop();
      throw new Error(`the sample (${platform}) did not answer within 60 s:\n${output}`);
    }
    await sleep(100);
  }
  if (inspect) {
    while (inspectorUrl === undefined && Date.now() < deadline) {
      await sleep(50);
    }
  }
  return app;
}

/** Sends one inline command to a Redis on `port`; resolves with the raw reply. */
export function redisCommand(port, command, timeoutMs = 1_000) {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: HOST, port });
    let reply = '';
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error('timeout')));
    socket.setEncoding('utf8');
    socket.once('error', reject);
    socket.once('connect', () => socket.write(`${command}\r\n`));
    socket.on('data', (chunk) => {
      reply += chunk;
      if (reply.endsWith('\r\n')) {
        socket.end();
        resolve(reply);
      }
    });
  });
}

/**
 * A private redis-server on a free loopback port that can be SIGKILLed and started again on the
 * same port. `persistent` (the default): `appendfsync always`, so that what Redis acknowledged
 * survives a SIGKILL (the sessions of the clients under load are still there after the
 * restart); otherwise nothing on disk.
 */
export async function startRedis({ persistent = true } = {}) {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), `nss-stress-redis-${port}-`));
  const args = [
    '--port',
    String(port),
    '--bind',
    HOST,
    '--save',
    '',
    '--appendonly',
    persistent ? 'yes' : 'no',
    ...(persistent ? ['--appendfsync', 'always'] : []),
    '--dir',
    dir,
    '--daemonize',
    'no',
    '--loglevel',
    'warning',
  ];
  let child;
  let exited;
  let output = '';
  const spawnServer = () => {
    child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    exited = track(child);
    child.stdout.setEncoding('utf8').on('data', (chunk) => (output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk) => (output += chunk));
  };
  /** Polls PING every 2 ms; resolves with the `performance.now()` of the first PONG. */
  const waitForPong = async () => {
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (!isRunning(child)) {
        throw new Error(`redis-server on port ${port} exited:\n${output}`);
      }
      const reply = await redisCommand(port, 'PING', 200).catch(() => '');
      if (reply.startsWith('+PONG')) {
        return performance.now();
      }
      if (Date.now() > deadline) {
        throw new Error(`redis-server on port ${port} did not answer PING within 10 s`);
      }
      await sleep(2);
    }
  };
  spawnServer();
  await waitForPong();
  const version = /redis_version:(\S+)/.exec(await redisCommand(port, 'INFO server'))?.[1];
  return {
    port,
    url: `redis://${HOST}:${port}`,
    version: version ?? '?',
    get pid() {
      return child.pid;
    },
    /** SIGKILL by pid; resolves once the process is gone. */
    async kill() {
      process.kill(child.pid, 'SIGKILL');
      await exited;
    },
    /** Starts it again on the same port; resolves with the time of its first PONG. */
    async restart() {
      if (isRunning(child)) {
        throw new Error('redis-server is still running');
      }
      spawnServer();
      return waitForPong();
    },
    async stop() {
      await stopChild(child, exited);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Resident set size of a process in bytes, from /proc/<pid>/status (VmRSS). */
export function rssBytes(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
  return kib === undefined ? NaN : Number(kib) * 1024;
}
