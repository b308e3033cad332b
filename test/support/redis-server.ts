import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runInThisContext } from 'node:vm';

const HOST = '127.0.0.1';
const READY_TIMEOUT_MS = 5_000;
const STOP_TIMEOUT_MS = 5_000;
const CLUSTER_TIMEOUT_MS = 10_000;

/** A `redis-server` child process this test run started, on a loopback port. */
export interface RedisServer {
  readonly host: string;
  readonly port: number;
  readonly pid: number;
  readonly url: string;
  /** Freezes the server (`SIGSTOP`): connections stay open, nothing is answered. */
  pause(): void;
  /** Lets a paused server run again (`SIGCONT`). */
  resume(): void;
  /** Stops the server by pid (SIGTERM, then SIGKILL) and removes its directory. Idempotent. */
  stop(): Promise<void>;
}

/** A Redis Cluster of `redis-server` children, every slot assigned, `cluster_state:ok`. */
export interface RedisCluster {
  readonly nodes: RedisServer[];
  /** Startup nodes for `new Cluster(...)`. */
  readonly startupNodes: { host: string; port: number }[];
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
// Should the test process end without afterAll (a crash), take the servers down with it. Jest
// gives each test file its own copy of `process`; only the real one emits 'exit'.
(runInThisContext('process') as NodeJS.Process).once('exit', () => {
  for (const child of running) {
    child.kill('SIGKILL');
  }
});

/** A TCP port free on the loopback interface right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address !== null
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}

/**
 * Starts a private `redis-server` on a free loopback port: no persistence, its own temporary
 * directory. Retries with another port if the one picked was taken in between.
 */
export async function startRedisServer(options: { cluster?: boolean } = {}): Promise<RedisServer> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(await freePort(), options.cluster ?? false);
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}

/** Arguments of a throw-away loopback `redis-server`: nothing on disk, in the foreground. */
export function redisServerArgs(port: number, dir: string): string[] {
  return [
    '--port',
    String(port),
    '--bind',
    HOST,
    '--save',
    '',
    '--appendonly',
    'no',
    '--daemonize',
    'no',
    '--dir',
    dir,
    '--loglevel',
    'warning',
  ];
}

async function startOnce(port: number, cluster: boolean): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), `nss-redis-${port}-`));
  const args = redisServerArgs(port, dir);
  if (cluster) {
    args.push('--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`));
    args.push('--cluster-node-timeout', '2000');
  }
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let output = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('exit', () => running.delete(child));
  const spawnFailed = new Promise<never>((_, reject) => child.once('error', reject));

  let stopped = false;
  const server: RedisServer = {
    host: HOST,
    port,
    pid: child.pid as number,
    url: `redis://${HOST}:${port}`,
    pause: () => process.kill(child.pid as number, 'SIGSTOP'),
    resume: () => process.kill(child.pid as number, 'SIGCONT'),
    stop: async () => {
      if (stopped) {
        return;
      }
      stopped = true;
      if (child.exitCode === null && child.signalCode === null) {
        // A paused server handles SIGTERM only once it runs again.
        process.kill(child.pid as number, 'SIGCONT');
        process.kill(child.pid as number, 'SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await Promise.race([
      waitForPong(port),
      spawnFailed,
      exited.then(() => {
        throw new Error(`redis-server on port ${port} exited at start:\n${output}`);
      }),
    ]);
  } catch (error) {
    await server.stop();
    throw error;
  }
  return server;
}

/** Resolves once `PING` on the port answers `+PONG`. */
async function waitForPong(port: number): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
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

/** Sends one inline command and resolves with the raw reply. */
export function rawCommand(port: number, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: HOST, port });
    let reply = '';
    socket.setTimeout(1_000, () => socket.destroy(new Error('timeout')));
    socket.setEncoding('utf8');
    socket.once('error', reject);
    socket.once('connect', () => socket.write(`${command}\r\n`));
    socket.on('data', (chunk: string) => {
      reply += chunk;
      if (reply.endsWith('\r\n') && (!reply.startsWith('$') || replyComplete(reply))) {
        socket.end();
        resolve(reply);
      }
    });
  });
}

function replyComplete(reply: string): boolean {
  const headerEnd = reply.indexOf('\r\n');
  const length = Number(reply.slice(1, headerEnd));
  return length < 0 || Buffer.byteLength(reply) >= headerEnd + 2 + length + 2;
}

/**
 * Starts `masters` cluster-enabled servers and joins them with `redis-cli --cluster create`
 * (no replicas); resolves once every node reports `cluster_state:ok`.
 */
export async function startRedisCluster(masters = 3): Promise<RedisCluster> {
  const nodes: RedisServer[] = [];
  const stop = async () => {
    await Promise.all(nodes.map((node) => node.stop()));
  };
  try {
    for (let i = 0; i < masters; i++) {
      nodes.push(await startRedisServer({ cluster: true }));
    }
    await runRedisCli([
      '--cluster',
      'create',
      ...nodes.map((node) => `${HOST}:${node.port}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ]);
    const deadline = Date.now() + CLUSTER_TIMEOUT_MS;
    for (const node of nodes) {
      while (!(await rawCommand(node.port, 'CLUSTER INFO')).includes('cluster_state:ok')) {
        if (Date.now() > deadline) {
          throw new Error(`cluster node ${node.port} did not reach cluster_state:ok`);
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    nodes,
    startupNodes: nodes.map((node) => ({ host: node.host, port: node.port })),
    stop,
  };
}

function runRedisCli(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('redis-cli', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), CLUSTER_TIMEOUT_MS);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      if (code === 0) {
        resolve(output);
      } else {
        reject(new Error(`redis-cli ${args.join(' ')} failed (${code}):\n${output}`));
      }
    });
  });
}
