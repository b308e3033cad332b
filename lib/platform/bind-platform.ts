import type { AbstractHttpAdapter } from '@nestjs/core';
import type { SessionRuntime } from '../core/session-runtime.js';
import { createExpressMiddleware } from './express.adapter.js';
import {
  bindFastify,
  type FastifyAdapterLike,
  type FastifyInstanceLike,
} from './fastify.adapter.js';

/** Binds sessions on the application's HTTP platform: Fastify hooks, or Express middleware. */
export function bindPlatform(adapter: AbstractHttpAdapter, runtime: SessionRuntime): void {
  if (adapter.getType() === 'fastify') {
    bindFastify(
      adapter.getInstance<FastifyInstanceLike>(),
      adapter as unknown as FastifyAdapterLike,
      runtime,
    );
  } else {
    adapter.use(createExpressMiddleware(runtime));
  }
}
