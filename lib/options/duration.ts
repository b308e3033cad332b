import type { Duration } from '../interfaces/session-module-options.interface.js';

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

const DURATION_PATTERN = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/;

/** Milliseconds of a duration, or `NaN` when it is not one (negative, empty, unknown unit). */
export function toMilliseconds(duration: Duration): number {
  if (typeof duration === 'number') {
    return Number.isFinite(duration) && duration >= 0 ? duration : Number.NaN;
  }
  const match = DURATION_PATTERN.exec(String(duration).trim());
  return match ? Math.round(Number(match[1]) * UNIT_MS[match[2]]) : Number.NaN;
}
