import { Logger } from '@nestjs/common';
import type { StoreExpiry } from '../interfaces/session-store.interface.js';

/** What the expiry subscription needs of a connection: an ioredis `Redis` satisfies it. */
export interface RedisSubscriberClient {
  /** ioredis: `'wait'` before a lazy client connects, `'ready'` once it can run commands. */
  readonly status: string;
  connect(): Promise<unknown>;
  once(event: 'ready', listener: () => void): unknown;
  subscribe(channel: string): Promise<unknown>;
  on(event: 'message', listener: (channel: string, message: string) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  disconnect(): void;
}

/** The parts of the store's client the subscription duplicates (ioredis `Redis` or `Cluster`). */
export interface RedisDuplicableClient {
  readonly isCluster: boolean;
  /** The connection options; `db` selects the keyspace a single node reports on. */
  readonly options?: { readonly db?: number };
  duplicate?(): unknown;
  /** Cluster: its master nodes, each one an ioredis `Redis`. */
  nodes?(role: 'master'): unknown[];
}

/**
 * `RedisStore`'s `expiryEvents`: Redis keyspace notifications of expired session hashes,
 * received on connections of their own (`duplicate()`: a subscribed connection runs no other
 * command), one per node on a Cluster (each node reports only its own keys). Redis sends them
 * only with `notify-keyspace-events` including `E` and `x` (e.g. `CONFIG SET
 * notify-keyspace-events Ex`); a notification is fire-and-forget, so one sent while the
 * connection is down is lost.
 *
 * @internal
 */
export class RedisExpiryEvents {
  private readonly logger = new Logger('RedisStore');
  private readonly listeners = new Set<(expiry: StoreExpiry) => void>();
  private subscribers: RedisSubscriberClient[] | null = null;

  constructor(
    private readonly client: RedisDuplicableClient,
    private readonly prefix: string,
  ) {}

  /** Adds a listener, subscribing on the first one. */
  watch(listener: (expiry: StoreExpiry) => void): () => void {
    this.listeners.add(listener);
    this.subscribers ??= this.subscribe();
    return () => {
      this.listeners.delete(listener);
    };
  }

  /**
   * Drops the subscribed connections (they are the store's own, whoever owns the client): a
   * subscriber has no reply pending that a `QUIT` would wait for, and `disconnect()` never
   * waits for a Redis that is down.
   */
  close(): Promise<void> {
    for (const subscriber of this.subscribers ?? []) {
      subscriber.disconnect();
    }
    this.subscribers = null;
    this.listeners.clear();
    return Promise.resolve();
  }

  private subscribe(): RedisSubscriberClient[] {
    const sources = this.client.isCluster
      ? (this.client.nodes?.('master') ?? [])
      : [this.client as unknown];
    const channel = `__keyevent@${this.client.isCluster ? 0 : (this.client.options?.db ?? 0)}__:expired`;
    return sources.map((source) => {
      const subscriber = (source as RedisDuplicableClient).duplicate?.() as RedisSubscriberClient;
      subscriber.on('error', (error) => {
        // The connection retries by itself; the message may name hosts, the class does not.
        this.logger.warn(`Expiry notifications: connection error (${error.name})`);
      });
      subscriber.on('message', (_channel, key) => this.expired(key));
      // Subscribed once connected (a client without an offline queue would refuse it before);
      // ioredis subscribes again by itself after a reconnection.
      const subscribe = () => {
        subscriber.subscribe(channel).catch((error: unknown) => {
          const name = error instanceof Error ? error.name : typeof error;
          this.logger.error(`Expiry notifications: SUBSCRIBE ${channel} failed (${name})`);
        });
      };
      if (subscriber.status === 'ready') {
        subscribe();
      } else {
        subscriber.once('ready', subscribe);
      }
      if (subscriber.status === 'wait') {
        subscriber.connect().catch(() => undefined); // Retried by the client; logged above.
      }
      return subscriber;
    });
  }

  /** A session hash is `{prefix}{<id>}`: index and revocation keys have a suffix or a `u:` tag. */
  private expired(key: string): void {
    const start = `${this.prefix}{`;
    if (!key.startsWith(start) || !key.endsWith('}') || key.startsWith(`${start}u:`)) {
      return;
    }
    const sessionId = key.slice(start.length, -1);
    if (sessionId.length === 0 || /[{}]/.test(sessionId)) {
      return;
    }
    for (const listener of this.listeners) {
      listener({ sessionId, userId: null, source: 'keyspace' });
    }
  }
}
