// Child process of the benchmark: one variant's app on a loopback port, driven over IPC.
//   node bench/server.js <variant>    (env: BENCH_SECRET, BENCH_REDIS_PORT)
// Messages to the parent: { type: 'ready', port, notes } | { type: 'unavailable', reason }
// | { type: 'failed', error } | { type: 'cpu', id, micros }. Messages from the parent:
// { type: 'shutdown' } | { type: 'cpu', id } (user + system CPU of this process so far, in µs).
import process from 'node:process';
import { createVariantApp } from './app.js';

const name = process.argv[2];
const secret = process.env.BENCH_SECRET;
const redisPort = Number(process.env.BENCH_REDIS_PORT ?? 0);

function send(message) {
  if (process.send) {
    process.send(message);
  } else {
    process.stdout.write(`${JSON.stringify(message)}\n`);
  }
}

let running = null;
let stopping = false;

async function shutdown(code = 0) {
  if (stopping) {
    return;
  }
  stopping = true;
  try {
    await running?.close();
  } catch (error) {
    console.error(`[${name}] close failed:`, error);
  }
  // A normal exit (not a signal) so that --cpu-prof writes its profile.
  process.exit(code);
}

process.on('message', (message) => {
  if (message?.type === 'shutdown') {
    void shutdown(0);
  } else if (message?.type === 'cpu') {
    const { user, system } = process.cpuUsage();
    send({ type: 'cpu', id: message.id, micros: user + system });
  }
});
process.on('disconnect', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));
process.on('SIGINT', () => void shutdown(0));

try {
  const created = await createVariantApp(name, { secret, redisPort });
  if (created.unavailable) {
    send({ type: 'unavailable', reason: created.unavailable });
    process.exit(0);
  }
  running = created;
  await created.app.listen(Number(process.env.BENCH_PORT ?? 0), '127.0.0.1');
  const { port } = created.app.getHttpServer().address();
  send({ type: 'ready', port, notes: created.notes, pid: process.pid, node: process.version });
  if (!process.send) {
    process.stdout.write(`${name} listening on http://127.0.0.1:${port}\n`);
  }
} catch (error) {
  send({ type: 'failed', error: String(error?.stack ?? error) });
  process.exit(1);
}
