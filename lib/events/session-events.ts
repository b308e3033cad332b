import { Logger } from '@nestjs/common';
import { Observable } from 'rxjs';
import type { SessionEvent, SessionEventOf, SessionEventType } from './session-event.js';

/** Something that receives every session event. */
export type SessionEventListener = (event: SessionEvent) => void | Promise<void>;

/** An event before the library stamps it. */
export type UnstampedSessionEvent = SessionEvent extends infer E
  ? E extends SessionEvent
    ? Omit<E, 'at'>
    : never
  : never;

/**
 * Where the library reports what happens to sessions: logins, regenerations, revocations (and
 * why), expiries, store failures, hijack signals. Inject it anywhere (`SessionModule` exports
 * it). Listeners run after the fact (the store has answered), and never hold up or fail the
 * request: an error a listener throws or rejects with is logged and dropped. No event carries
 * a token, a cookie value or session data. When the app imports `EventEmitterModule`
 * (`@nestjs/event-emitter`), every event is also emitted there as `session.<type>`.
 *
 * @example
 * ```ts
 * @Injectable()
 * export class SessionAudit implements OnModuleInit {
 *   constructor(private readonly events: SessionEvents) {}
 *   onModuleInit() {
 *     this.events.on('revoked', (event) => audit.write(event.reason, event.userId));
 *   }
 * }
 * ```
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

  /** Adds a listener for events of one `type`; the function returned removes it. */
  on<T extends SessionEventType>(
    type: T,
    listener: (event: SessionEventOf<T>) => void | Promise<void>,
  ): () => void {
    return this.subscribe((event) =>
      event.type === type ? listener(event as SessionEventOf<T>) : undefined,
    );
  }

  /**
   * The events as an rxjs `Observable` (of the given `types`, or all of them), subscribed to
   * while the observable is.
   *
   * @example
   * ```ts
   * events.observe('revoked', 'hijack-suspected').pipe(bufferTime(1000)).subscribe(alert);
   * ```
   */
  observe<T extends SessionEventType = SessionEventType>(
    ...types: T[]
  ): Observable<SessionEventOf<T>> {
    const wanted = new Set<SessionEventType>(types);
    return new Observable<SessionEventOf<T>>((subscriber) =>
      this.subscribe((event) => {
        if (wanted.size === 0 || wanted.has(event.type)) {
          subscriber.next(event as SessionEventOf<T>);
        }
      }),
    );
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
