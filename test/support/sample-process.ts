import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';

/** The repository root (where package.json lives). Jest runs with it as the working directory. */
export const PROJECT_ROOT = resolve(process.cwd());

/** How long a child Node process may take to answer its first HTTP request. */
const READY_TIMEOUT_MS = 30_000;
/** How long a stopped child may take to exit on SIGTERM before it is SIGKILLed. */
const STOP_TIMEOUT_MS = 5_000;
/** The most of a child's output kept for error messages. */
const MAX_OUTPUT_CHARS = 20_000;

/** The outcome of a finished command. */
export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a command to completion (no shell) and resolves with its output; rejects with the
 * output in the message when it exits non-zero or outlives `timeoutMs`.
 */
export function runCommand(
  command: string,
  args: readonly string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<CommandResult> {
  return new Promise((done, fail) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? childEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
    }, options.timeoutMs ?? 120_000);
    child.on('error', (error) => {
      clearTimeout(timer);
      fail(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) {
        done({ code, stdout, stderr });
        return;
      }
      const how = signal === null ? `exit code ${code}` : `signal ${signal}`;
      fail(
        new Error(
          `\`${command} ${args.join(' ')}\` in ${options.cwd} failed (${how})\n` +
            `--- stdout ---\n${tail(stdout)}\n--- stderr ---\n${tail(stderr)}`,
        ),
      );
    });
  });
}

/** Runs `npm <args>` in `cwd` (see {@link runCommand}). */
export function runNpm(
  args: readonly string[],
  cwd: string = PROJECT_ROOT,
  timeoutMs = 180_000,
): Promise<CommandResult> {
  return runCommand('npm', args, { cwd, timeoutMs });
}

/**
 * The environment for a child process: this one's, minus what Jest adds for itself
 * (`--experimental-vm-modules` in NODE_OPTIONS) and what `npm test` says about this project
 * (`npm_package_*`, `npm_lifecycle_*`, `npm_config_local_prefix`: an `npm install` in a
 * scratch directory must not take this project for its own), with `overrides` applied
 * (`undefined` removes). Registry and cache settings (`npm_config_*`) are kept.
 */
export function childEnv(overrides: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(env)) {
    if (
      key === 'NODE_OPTIONS' ||
      key === 'INIT_CWD' ||
      key === 'npm_command' ||
      key === 'npm_config_local_prefix' ||
      key.startsWith('npm_package_') ||
      key.startsWith('npm_lifecycle_')
    ) {
      delete env[key];
    }
  }
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) {
      delete env[key];
    } else {
      env[key] = value;
    }
  }
  return env;
}

/** The newest modification time (ms) of the files under `paths` accepted by `include`. */
export function newestMtime(
  paths: readonly string[],
  include: (file: string) => boolean = () => true,
): number {
  let newest = 0;
  const visit = (path: string): void => {
    const stats = statSync(path, { throwIfNoEntry: false });
    if (stats === undefined) {
      return;
    }
    if (stats.isDirectory()) {
      for (const entry of readdirSync(path)) {
        visit(join(path, entry));
      }
    } else if (include(path)) {
      newest = Math.max(newest, stats.mtimeMs);
    }
  };
  paths.forEach(visit);
  return newest;
}

/**
 * Whether `output` exists and is newer than every input file: a build that produced it
 * need not run again. Inputs are paths relative to the project root.
 */
export function isFresh(output: string, inputs: readonly string[]): boolean {
  const built = statSync(join(PROJECT_ROOT, output), { throwIfNoEntry: false });
  if (built === undefined) {
    return false;
  }
  const newestInput = newestMtime(
    inputs.map((input) => join(PROJECT_ROOT, input)),
    (file) => !file.endsWith('.spec.ts'),
  );
  return built.mtimeMs > newestInput;
}

/** What `npm run build` reads. */
const LIBRARY_INPUTS = ['lib', 'package.json', 'tsconfig.json', 'tsconfig.build.json'];

/**
 * Builds the library (`npm run build`) unless `dist/index.js` is newer than its sources;
 * resolves with whether it built.
 */
export async function buildLibrary(): Promise<boolean> {
  if (isFresh('dist/index.js', LIBRARY_INPUTS)) {
    return false;
  }
  await runNpm(['run', 'build']);
  return true;
}

/**
 * Builds the library (`npm run build`) and the sample (`npm run sample:build`), each only
 * when its output is older than its sources. The sample compiles against `dist/` (it imports
 * the package by name), so a rebuilt library always rebuilds the sample.
 */
export async function buildLibraryAndSample(): Promise<void> {
  const libraryRebuilt = await buildLibrary();
  const sampleInputs = ['sample/src', 'sample/tsconfig.json', 'dist', ...LIBRARY_INPUTS];
  if (libraryRebuilt || !isFresh('sample/dist/main.js', sampleInputs)) {
    await runNpm(['run', 'sample:build']);
  }
}

/** A free TCP port on the loopback interface, as the OS hands it out. */
export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.unref();
    server.on('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address === null || typeof address === 'string') {
          fail(new Error('No TCP port was assigned'));
        } else {
          done(address.port);
        }
      });
    });
  });
}

/** A Node.js HTTP server running in a child process. */
export interface NodeServer {
  readonly pid: number;
  readonly port: number;
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** What the process wrote to stdout and stderr so far (the tail of it). */
  output(): string;
  /** Stops the process by pid (SIGTERM, then SIGKILL) and waits for it to exit. */
  stop(): Promise<void>;
}

/**
 * Starts `node <script>` with `PORT` (a free port) and `HOST=127.0.0.1`, and resolves once it
 * answers HTTP on `readyPath` with any status. Rejects with the process output when it exits
 * first or does not answer within 30 s.
 */
export async function startNodeServer(options: {
  script: string;
  cwd: string;
  env?: Record<string, string | undefined>;
  readyPath?: string;
}): Promise<NodeServer> {
  const port = await freePort();
  const child = spawn(process.execPath, [options.script], {
    cwd: options.cwd,
    env: childEnv({ ...options.env, PORT: String(port), HOST: '127.0.0.1' }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const collect = (chunk: string): void => {
    output = tail(output + chunk);
  };
  child.stdout?.setEncoding('utf8').on('data', collect);
  child.stderr?.setEncoding('utf8').on('data', collect);
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  if (child.pid === undefined) {
    await exited;
    throw new Error(`Could not start node ${options.script}\n${output}`);
  }
  const server: NodeServer = {
    pid: child.pid,
    port,
    url: `http://127.0.0.1:${port}`,
    output: () => output,
    stop: () => stopChild(child, exited),
  };
  try {
    await waitUntilAnswering(`${server.url}${options.readyPath ?? '/'}`, child);
  } catch (error) {
    await server.stop();
    throw new Error(
      `${(error as Error).message}\n--- output of node ${options.script} ---\n${output}`,
      { cause: error },
    );
  }
  return server;
}

/** Starts the built sample app (`node sample/dist/main.js`); see {@link startNodeServer}. */
export function startSample(env: Record<string, string | undefined> = {}): Promise<NodeServer> {
  return startNodeServer({ script: join('sample', 'dist', 'main.js'), cwd: PROJECT_ROOT, env });
}

async function waitUntilAnswering(url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `The process exited (${child.exitCode ?? child.signalCode}) before answering ${url}`,
      );
    }
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1_000) });
      await response.body?.cancel();
      return;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      throw new Error(`No answer from ${url} within ${READY_TIMEOUT_MS} ms`);
    }
    await new Promise((done) => setTimeout(done, 100));
  }
}

async function stopChild(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) {
    return;
  }
  process.kill(child.pid, 'SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<boolean>((done) => {
    timer = setTimeout(() => done(true), STOP_TIMEOUT_MS);
  });
  const stuck = await Promise.race([exited.then(() => false), timedOut]);
  clearTimeout(timer);
  if (stuck && child.exitCode === null && child.signalCode === null) {
    process.kill(child.pid, 'SIGKILL');
    await exited;
  }
}

function tail(text: string): string {
  return text.length > MAX_OUTPUT_CHARS ? text.slice(-MAX_OUTPUT_CHARS) : text;
}
