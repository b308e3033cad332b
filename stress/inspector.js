// Reads a child's V8 heap through the inspector protocol (the app runs with
// --inspect=127.0.0.1:0): no endpoint in the app, nothing the app itself does differently.
import WebSocket from 'ws';

export async function connectInspector(url) {
  const socket = new WebSocket(url);
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  let nextId = 1;
  const waiting = new Map();
  socket.on('message', (data) => {
    const message = JSON.parse(String(data));
    const pending = waiting.get(message.id);
    if (pending !== undefined) {
      waiting.delete(message.id);
      if (message.error) {
        pending.reject(new Error(`${message.error.message} (${message.error.code})`));
      } else {
        pending.resolve(message.result);
      }
    }
  });
  const call = (method, params = {}) =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      waiting.set(id, { resolve, reject });
      socket.send(JSON.stringify({ id, method, params }));
    });
  return {
    /** Heap in use after a full garbage collection: what the process keeps, not its garbage. */
    async heapAfterGc() {
      await call('HeapProfiler.collectGarbage');
      const { usedSize, totalSize } = await call('Runtime.getHeapUsage');
      return { used: usedSize, total: totalSize };
    },
    /** Starts an event-loop delay histogram inside the process (perf_hooks, 10 ms resolution). */
    async monitorLoop() {
      const { result, exceptionDetails } = await call('Runtime.evaluate', {
        expression: `(() => {
          const { monitorEventLoopDelay } = process.getBuiltinModule('node:perf_hooks');
          globalThis.__nssStressLoopDelay = monitorEventLoopDelay({ resolution: 10 });
          globalThis.__nssStressLoopDelay.enable();
          return true;
        })()`,
        returnByValue: true,
      });
      if (exceptionDetails !== undefined || result.value !== true) {
        throw new Error(`could not watch the event loop: ${exceptionDetails?.text ?? result.type}`);
      }
    },
    /** Longest and p99 event-loop delay (ms) since the last call. */
    async loopDelay() {
      const { result } = await call('Runtime.evaluate', {
        expression: `(() => {
          const h = globalThis.__nssStressLoopDelay;
          const delay = { max: h.max / 1e6, p99: h.percentile(99) / 1e6 };
          h.reset();
          return delay;
        })()`,
        returnByValue: true,
      });
      return result.value;
    },
    close() {
      socket.close();
    },
  };
}
