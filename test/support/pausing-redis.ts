import type { Cluster, Redis } from 'ioredis';
import type { HeldCalls } from '../../lib/testing/index.js';

/**
 * An ioredis client seen through a proxy that can hold chosen commands (by method name, e.g.
 * `del` or a `RedisStore` script such as `nestSecureSessionClaim`) before they are sent, until
 * the test releases them: it forces interleavings *inside* one `RedisStore` operation, between
 * the round trips a Cluster needs.
 */
export function pausingClient<T extends Redis | Cluster>(
  client: T,
): { client: T; hold(command: string, matches?: (args: unknown[]) => boolean): HeldCalls } {
  const holds: {
    command: string;
    matches: (args: unknown[]) => boolean;
    reached: () => void;
    released: Promise<void>;
  }[] = [];
  const proxy = new Proxy(client, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') {
        return value;
      }
      const method = (value as (...args: unknown[]) => unknown).bind(target);
      return async (...args: unknown[]) => {
        const hold = holds.find((entry) => entry.command === property && entry.matches(args));
        if (hold !== undefined) {
          hold.reached();
          await hold.released;
        }
        return method(...args);
      };
    },
  });
  return {
    client: proxy,
    hold(command, matches = () => true) {
      let reached!: () => void;
      let release!: () => void;
      const arrived = new Promise<void>((resolve) => (reached = resolve));
      const released = new Promise<void>((resolve) => (release = resolve));
      const hold = { command, matches, reached, released };
      holds.push(hold);
      return {
        reached: arrived,
        release: () => {
          holds.splice(holds.indexOf(hold), 1);
          release();
        },
      };
    },
  };
}
