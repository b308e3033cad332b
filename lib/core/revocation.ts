import { CLOCK_SKEW_MS } from './clock-skew.js';

/**
 * Stateless mode: until when a revocation made at `now` must be kept. Every cookie it concerns
 * was created by `now + CLOCK_SKEW_MS` at the latest (a later `createdAt` is refused as forged)
 * and is refused past `createdAt + absoluteTimeout`, so nothing it refuses outlives this.
 */
export function revocationUntil(now: number, absoluteTimeoutMs: number): number {
  return now + absoluteTimeoutMs + CLOCK_SKEW_MS;
}
