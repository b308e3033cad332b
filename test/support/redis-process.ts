import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runInThisContext } from 'node:vm';
import { freePort, rawCommand, redisServerArgs } from './redis-server.js';

const HOST = '127.0.0.1';
const READY_TIMEOUT_MS = 5_000;
const STOP_TIMEOUT_MS = 5_000;

/**
 * A private `redis-server` that can be killed and started again **on the same port** (which
 * `startRedisServer()` in `./redis-server.ts` does not offer): for fault tests whose app keeps
 * one client and must reconnect to the "same" Redis after a crash. No persistence
 * (`--save ''`, no AOF), so a restarted server starts empty, like a crashed cache node.
 */
export interface RedisProcess {
  readonly host: string;
  readonly port: number;
  readonly url: string;
  /** Pid of the current `redis-server` child. */
  readonly pid: number;
  /** Whether the current child is still running. */
  readonly running: boolean;
  /** Sends `signal` to the current child by pid; resolves once it has exited (`SIGKILL`, `SIGTERM`). */
  kill(signal: 'SIGKILL' | 'SIGTERM'): Promise<void>;
  /** Starts a new child on the same port; resolves once it answers `PING`. */
  restart(): Promise<void>;
  /** Stops the current child (if running) and removes the server's directory. Idempotent. */
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
// Should the test process end without afterAll (a crash, --forceExit), take the servers down
// with it. On the real `process`: the one Jest gives a test file is a copy whose events never
// fire.
const realProcess = runInThisContext('process') as NodeJS.Process;
realProcess.once('exit', () => {
  for (const child of running) {
    child.kill('SIGKILL');
  }
});

interface Child {
  process: ChildProcess;
  exited: Promise<void>;
  output: () => string;
}

function spawnServer(port: number, dir: string): Child {
  const child = spawn('redis-server', redisServerArgs(port, dir), {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let output = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  // A missing binary surfaces as an 'error' event; the exit promise settles either way.
  child.once('error', (error) => (output += `\n${String(error)}`));
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', () => resolve());
  });
  void exited.then(() => running.delete(child));
  return { process: child, exited, output: () => output };
}

async function waitUntilReady(port: number, child: Child): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let exited = false;
  void child.exited.then(() => (exited = true));
  for (;;) {
    if (exited) {
      throw new Error(`redis-server on port ${port} exited at start:\n${child.output()}`);
    }
    if ((await rawCommand(port, 'PING').catch(() => '')).startsWith('+PONG')) {
      return;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `redis-server on port ${port} did not answer PING within ${READY_TIMEOUT_MS} ms`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function isRunning(child: Child): boolean {
  return child.process.exitCode === null && child.process.signalCode === null;
}

async function killChild(child: Child, signal: 'SIGKILL' | 'SIGTERM'): Promise<void> {
  if (!isRunning(child) || child.process.pid === undefined) {
    return;
  }
  process.kill(child.process.pid, signal);
  const timer = setTimeout(() => child.process.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await child.exited;
  clearTimeout(timer);
}

/** Starts a {@link RedisProcess} on a free loopback port (another port if that one was taken). */
export async function startRedisProcess(): Promise<RedisProcess> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), `nss-redis-proc-${port}-`));
    let current = spawnServer(port, dir);
    try {
      await waitUntilReady(port, current);
    } catch (error) {
      lastError = error;
      await killChild(current, 'SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      continue;
    }
    let stopped = false;
    return {
      host: HOST,
      port,
      url: `redis://${HOST}:${port}`,
      get pid() {
        return current.process.pid as number;
      },
      get running() {
        return isRunning(current);
      },
      kill: (signal) => killChild(current, signal),
      restart: async () => {
        if (stopped) {
          throw new Error('restart() after stop()');
        }
        if (isRunning(current)) {
          throw new Error(`redis-server ${current.process.pid} is still running; kill it first`);
        }
        current = spawnServer(port, dir);
        try {
          await waitUntilReady(port, current);
        } catch (error) {
          await killChild(current, 'SIGKILL');
          throw error;
        }
      },
      stop: async () => {
        if (stopped) {
          return;
        }
        stopped = true;
        await killChild(current, 'SIGTERM');
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  throw lastError;
}
