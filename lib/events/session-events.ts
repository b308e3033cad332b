import { Logger } from '@nestjs/common';
import type { SessionEvent } from './session-event.js';

/** Something that receives every session event. */
export type SessionEventListener = (event: SessionEvent) => void | Promise<void>;

/** An event before the library stamps it. */
export type UnstampedSessionEvent = SessionEvent extends infer E
  ? E extends SessionEvent
    ? Omit<E, 'at'>
    : never
  : never;

/**
 * Where the library reports what happens to sessions. Listeners run after the fact (the store
 * has answered), never hold up or fail the request: an error a listener throws or rejects with
 * is logged and dropped.
 */
export class SessionEvents {
  private readonly logger = new Logger('SessionEvents');
  private readonly listeners = new Set<SessionEventListener>();

  constructor(private readonly now: () => number) {}

  /** Adds a listener; the function returned removes it. */
  subscribe(listener: SessionEventListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Whether anything listens: emitters skip building events nobody reads. */
  get observed(): boolean {
    return this.listeners.size > 0;
  }

  /** Stamps `event` with the time and hands it to every listener. */
  emit(event: UnstampedSessionEvent): void {
    if (this.listeners.size === 0) {
      return;
    }
    const stamped = Object.freeze({ ...event, at: new Date(this.now()) }) as SessionEvent;
    for (const listener of this.listeners) {
      try {
        const result = listener(stamped);
        if (result instanceof Promise) {
          result.catch((error: unknown) => this.failed(stamped, error));
        }
      } catch (error) {
        this.failed(stamped, error);
      }
    }
  }

  private failed(event: SessionEvent, error: unknown): void {
    const name = error instanceof Error ? error.name : typeof error;
    this.logger.error(
      `A session event listener failed on '${event.type}' (${name}); the event was dropped for it`,
    );
  }
}
