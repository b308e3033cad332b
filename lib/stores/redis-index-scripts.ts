import { CHUNKS, CLAIM, FIELD, WRITE_SESSION } from './redis-scripts.js';

/**
 * Lua scripts of `RedisStore` for a user's sessions: deletion of an owned session (following
 * tombstones), pruning of the per-user index, and the login/move script that indexes a session
 * and enforces `maxSessionsPerUser`. Key layout and invariants: see `redis-scripts.ts`.
 *
 * @internal
 */

/**
 * Deletes a session only if it belongs to `ARGV[1]` (index entries may be stale). KEYS[1]
 * session hash. Returns {1, ''} when deleted, {0, newId} for a tombstone (the session moved to
 * `newId`: the caller may follow it), {0, ''} otherwise. Tombstones are left for other callers.
 */
export const DESTROY_OWNED_SCRIPT = `
local meta = redis.call('HMGET', KEYS[1], '${FIELD.userId}', '${FIELD.movedTo}')
if meta[1] == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return {1, ''}
end
if meta[2] then
  return {0, meta[2]}
end
return {0, ''}
`;

const FORGET = `
local function forget(member)
  redis.call('ZREM', KEYS[1], member)
  redis.call('ZREM', KEYS[2], member)
  redis.call('SREM', KEYS[3], member)
  redis.call('SREM', KEYS[4], member)
end
`;

/**
 * Drops index entries of sessions known to be gone (ids in ARGV); deletes the index when empty.
 * KEYS idx, exp, ev, mv.
 */
export const PRUNE_SCRIPT = `${FORGET}
for i = 1, #ARGV do
  forget(ARGV[i])
end
if redis.call('ZCARD', KEYS[1]) == 0 then
  redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4])
end
return 1
`;

/**
 * Indexes a new session under its user and enforces `maxSessionsPerUser`, atomically; with a
 * replaced id, decides the move too.
 *
 * KEYS idx, exp, ev, mv [, new session hash [, replaced session hash]] — the session hashes on a
 * single node only: the session is then written here, and the replaced one ended, in the same
 * step. ARGV: id, createdAt, absoluteExpiresAt, now, limit (-1: none), policy, checked
 * ('1'|'0'), replaced id ('' for none), nDead, nDead × dead id, [graceEndsAt, successor ('' but
 * for a token rotation), ttlMs, field, value, ...].
 *
 * Entries past their absolute expiry and the `dead` ids (sessions the caller found gone) are
 * dropped first. A replaced id of this user that is being evicted means the session it moves
 * is gone: `{'revoked', {}}` (as on a single node when the replaced hash is not live). A
 * replaced id of this user does not count, and its move is never refused: it adds no session.
 * Sessions that merely idled out cannot be seen from this slot, so when the user is at the
 * limit and `checked` is '0' the script changes nothing else and answers `{'check', ids}`: the
 * caller reads those sessions (dead stays dead: ids are never reused) and calls again with
 * `checked` '1', which decides. Replies: `{'ok', ids to delete}` (the `ev` set: sessions evicted
 * now or by an earlier login whose deletion failed), `{'refuse', {}}`, `{'revoked', {}}`.
 * On a Cluster a replaced id of this user joins `mv`; the caller then ends the replaced session
 * (`CLAIM_SCRIPT`) and prunes it.
 */
export const INDEX_SCRIPT = `${CHUNKS}${WRITE_SESSION}${CLAIM}${FORGET}
local idx, exp, ev, mv = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local id = ARGV[1]
local now = tonumber(ARGV[4])
local limit = tonumber(ARGV[5])
local replaced = ARGV[8]
local nDead = tonumber(ARGV[9])
for i = 10, 9 + nDead do
  forget(ARGV[i])
end
for _, member in ipairs(redis.call('ZRANGEBYSCORE', exp, '-inf', ARGV[4])) do
  forget(member)
end
if #KEYS == 6 and not claimable(KEYS[6], now) then
  return {'revoked', {}}
end
local function counts(member)
  return redis.call('SISMEMBER', ev, member) == 0 and redis.call('SISMEMBER', mv, member) == 0
end
local present = redis.call('ZSCORE', idx, id)
if present then
  redis.call('SREM', ev, id)
  redis.call('SREM', mv, id)
end
local others = redis.call('ZCARD', idx) - redis.call('SCARD', ev) - redis.call('SCARD', mv)
if present then
  others = others - 1
end
local movesOwn = replaced ~= '' and redis.call('ZSCORE', idx, replaced) ~= false
if movesOwn then
  if redis.call('SISMEMBER', ev, replaced) == 1 then
    return {'revoked', {}}
  end
  if counts(replaced) then
    others = others - 1
  end
end
if limit >= 0 and others >= limit and not (movesOwn and ARGV[6] == 'refuse') then
  local counted = {}
  for _, member in ipairs(redis.call('ZRANGE', idx, 0, -1)) do
    if member ~= id and member ~= replaced and counts(member) then
      counted[#counted + 1] = member
    end
  end
  if ARGV[7] ~= '1' then
    return {'check', counted}
  end
  if ARGV[6] == 'refuse' then
    return {'refuse', {}}
  end
  for i = 1, math.min(#counted, others - limit + 1) do
    redis.call('SADD', ev, counted[i])
  end
end
redis.call('ZADD', idx, ARGV[2], id)
redis.call('ZADD', exp, ARGV[3], id)
local keep = math.floor(tonumber(ARGV[3]) - now)
for _, key in ipairs({idx, exp, ev, mv}) do
  local left = redis.call('PTTL', key)
  if left ~= -2 and left < keep then
    redis.call('PEXPIRE', key, keep)
  end
end
if #KEYS >= 5 then
  if #KEYS == 6 then
    claim(KEYS[6], id, now, ARGV[10 + nDead], ARGV[11 + nDead])
    if movesOwn then
      forget(replaced)
    end
  end
  writeSession(KEYS[5], ARGV, 12 + nDead)
elseif movesOwn then
  redis.call('SADD', mv, replaced)
end
return {'ok', redis.call('SMEMBERS', ev)}
`;
