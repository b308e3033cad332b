import {
  Inject,
  Injectable,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import { concatMap, Observable } from 'rxjs';
import { SESSION_RUNTIME, type SessionRuntime } from '../core/session-runtime.js';
import { socketStateOf } from './socket-binding.js';

/**
 * Made global by the session WebSocket adapters (`SessionWsAdapter`, `SessionIoAdapter`), so
 * that applications without them never run it; does something for WebSocket messages only
 * (every other context is handed on at once, untouched). A message of a client a session adapter
 * accepted runs with its own session state in the async context (`SessionService.current()`
 * works in the handler), and what the handler changed is saved before its answer is sent.
 * A handler that throws saves nothing, like an HTTP error response.
 */
@Injectable()
export class SocketSessionInterceptor implements NestInterceptor {
  constructor(@Inject(SESSION_RUNTIME) private readonly runtime: SessionRuntime) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'ws') {
      return next.handle();
    }
    const state = socketStateOf(context);
    if (state === null) {
      // No session adapter: guards and @Session() deny, and say what is missing.
      return next.handle();
    }
    return new Observable((subscriber) =>
      // Nest binds the handler to the async context `handle()` is called in.
      this.runtime.context.run(state, () =>
        next
          .handle()
          .pipe(
            concatMap(async (value: unknown) => {
              await state.commit();
              return value;
            }),
          )
          .subscribe(subscriber),
      ),
    );
  }
}
