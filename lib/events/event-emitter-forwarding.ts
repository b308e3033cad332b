import {
  Inject,
  Injectable,
  Logger,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { SESSION_RUNTIME, type SessionRuntime } from '../core/session-runtime.js';

/** What the forwarding needs of `EventEmitter2`. */
interface Emitter {
  emit(event: string, ...values: unknown[]): unknown;
}

/**
 * Forwards every session event to `@nestjs/event-emitter`, as `session.<type>` (for example
 * `session.authenticated`), when the app has imported `EventEmitterModule`. The package is an
 * optional peer: it is looked for at start-up, never imported by an app that lacks it.
 *
 * @internal
 */
@Injectable()
export class EventEmitterForwarding implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('SessionEvents');
  private stop: (() => void) | null = null;

  constructor(
    @Inject(ModuleRef) private readonly moduleRef: ModuleRef,
    @Inject(SESSION_RUNTIME) private readonly runtime: SessionRuntime,
  ) {}

  async onModuleInit(): Promise<void> {
    const emitter = await this.findEmitter();
    if (emitter !== null) {
      this.stop = this.runtime.events.subscribe((event) => {
        emitter.emit(`session.${event.type}`, event);
      });
      this.logger.log("Session events are forwarded to EventEmitter2 as 'session.<type>'");
    }
  }

  onModuleDestroy(): void {
    this.stop?.();
    this.stop = null;
  }

  /** The app's `EventEmitter2`, or `null` without `@nestjs/event-emitter` or its module. */
  private async findEmitter(): Promise<Emitter | null> {
    let token: unknown;
    try {
      ({ EventEmitter2: token } = await import('@nestjs/event-emitter'));
    } catch {
      return null; // Not installed.
    }
    try {
      return this.moduleRef.get(token as never, { strict: false }) as Emitter;
    } catch {
      return null; // Installed, but the app did not import EventEmitterModule.
    }
  }
}
