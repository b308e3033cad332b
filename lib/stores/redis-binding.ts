import { SessionRevokedError } from '../core/session.errors.js';
import type { RedisStoreContext } from './redis-commands.js';
import { FIELD } from './redis-scripts.js';

/**
 * Compares and sets the `deviceBinding` field of a live session hash. A hash without
 * `absoluteExpiresAt` is gone or a tombstone: nothing is written there.
 * KEYS[1] session hash. ARGV[1] expected binding ('' for none), ARGV[2] the new one.
 * Returns -1 when the session is gone, 0 when the binding was another, 1 when set.
 */
export const SWAP_BINDING_SCRIPT = `
if redis.call('HEXISTS', KEYS[1], '${FIELD.absoluteExpiresAt}') == 0 then
  return -1
end
local current = redis.call('HGET', KEYS[1], '${FIELD.deviceBinding}') or ''
if current ~= ARGV[1] then
  return 0
end
redis.call('HSET', KEYS[1], '${FIELD.deviceBinding}', ARGV[2])
return 1
`;

/** `swapDeviceBinding`: one script in the session's slot; never revives a session that is gone. */
export async function swapDeviceBinding(
  ctx: RedisStoreContext,
  id: string,
  expected: string | null,
  next: string,
): Promise<boolean> {
  if (typeof next !== 'string' || next === '') {
    throw new TypeError('A device binding must be a non-empty string');
  }
  const outcome = Number(
    await ctx.scripts.nestSecureSessionSwapBinding(ctx.sessionKey(id), expected ?? '', next),
  );
  if (outcome === -1) {
    throw new SessionRevokedError();
  }
  return outcome === 1;
}
