import type { ExecutionContext } from '@nestjs/common';
import type { ContextSession } from './execution-context.js';

/** The session of a WebSocket message, or `null` when its client has none bound. */
export function socketSessionOf(_context: ExecutionContext): ContextSession | null {
  return null;
}
