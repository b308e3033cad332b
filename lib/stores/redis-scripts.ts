/**
 * Lua scripts of `RedisStore`. Each runs atomically on the one node that owns its keys, and
 * every script touches keys of ONE hash slot only, so all of them are valid on Redis Cluster:
 *
 * - session scripts get one key: the session hash `{prefix}{<id>}`;
 * - index scripts get the three per-user keys `{prefix}{u:<userId>}:idx|exp|ev`, which share
 *   the hash tag `{u:<userId>}`. On a single node (never on a Cluster) the login script may also
 *   get the session hash as a fourth key, so a login is one atomic script there.
 *
 * Per-user keys: `idx` is a sorted set of the user's session ids by `createdAt` (oldest first),
 * `exp` the same ids by `absoluteExpiresAt` (so entries past their hard end are pruned without
 * reading other slots), and `ev` the ids chosen for eviction whose hashes may still exist: they
 * no longer count towards the limit, but stay in `idx` so that `destroyByUser` still reaches
 * them should their deletion fail. Invariant: `ev` ⊆ `idx` and `idx` and `exp` hold the same ids.
 *
 * @internal
 */

/** Names of the metadata fields of a session hash. Data fields are `d:<key>`. */
export const FIELD = {
  userId: 'userId',
  createdAt: 'createdAt',
  lastSeenAt: 'lastSeenAt',
  authenticatedAt: 'authenticatedAt',
  expiresAt: 'expiresAt',
  absoluteExpiresAt: 'absoluteExpiresAt',
  userAgent: 'userAgent',
} as const;

/** Prefix of data fields: a data key can never overwrite a metadata field. */
export const DATA_FIELD_PREFIX = 'd:';

// HSET/HDEL take at most this many arguments per call: `unpack` of a large table would overflow
// the Lua C stack. Even, so field/value pairs never straddle two calls.
const CHUNKS = `
local function callChunks(command, key, args, first, last)
  local i = first
  while i <= last do
    local j = math.min(i + 199, last)
    redis.call(command, key, unpack(args, i, j))
    i = j + 1
  end
end
`;

/** Replaces a session hash whole: `DEL`, `HSET` fields from `ARGV[first + 1]`, `PEXPIRE ARGV[first]`. */
const WRITE_SESSION = `
local function writeSession(key, args, first)
  redis.call('DEL', key)
  callChunks('HSET', key, args, first + 1, #args)
  redis.call('PEXPIRE', key, args[first])
end
`;

/**
 * Stores a session whole (anonymous sessions; the session half of a login on a Cluster).
 * KEYS[1] session hash. ARGV[1] TTL in ms (>= 1), ARGV[2..] field, value, field, value...
 */
export const WRITE_SCRIPT = `${CHUNKS}${WRITE_SESSION}
writeSession(KEYS[1], ARGV, 1)
return 1
`;

/**
 * Applies a delta and moves the expiry; also serves `touch` (an empty delta). Does nothing when
 * the session is gone: it must not come back. The TTL is clamped to the session's own absolute
 * expiry, so it can never outlive it whatever the caller passes.
 * KEYS[1] session hash. ARGV: lastSeenAt, expiresAt, ttlMs, n, n × (field, value), fields to delete...
 */
export const UPDATE_SCRIPT = `${CHUNKS}
local key = KEYS[1]
local absolute = redis.call('HGET', key, '${FIELD.absoluteExpiresAt}')
if not absolute then
  return 0
end
local expiresAt = tonumber(ARGV[2])
local now = expiresAt - tonumber(ARGV[3])
local storedExpiresAt = ARGV[2]
if tonumber(absolute) < expiresAt then
  expiresAt = tonumber(absolute)
  storedExpiresAt = absolute
end
local ttl = math.floor(expiresAt - now)
if ttl <= 0 then
  redis.call('DEL', key)
  return 0
end
local lastSet = 4 + 2 * tonumber(ARGV[4])
callChunks('HSET', key, ARGV, 5, lastSet)
callChunks('HDEL', key, ARGV, lastSet + 1, #ARGV)
redis.call('HSET', key, '${FIELD.lastSeenAt}', ARGV[1], '${FIELD.expiresAt}', storedExpiresAt)
redis.call('PEXPIRE', key, ttl)
return 1
`;

/**
 * Deletes a session only if it belongs to `ARGV[1]` (index entries may be stale).
 * KEYS[1] session hash. Returns 1 when deleted.
 */
export const DESTROY_OWNED_SCRIPT = `
if redis.call('HGET', KEYS[1], '${FIELD.userId}') == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`;

const FORGET = `
local function forget(member)
  redis.call('ZREM', KEYS[1], member)
  redis.call('ZREM', KEYS[2], member)
  redis.call('SREM', KEYS[3], member)
end
`;

/**
 * Drops index entries of sessions known to be gone (ids in ARGV); deletes the index when empty.
 * KEYS idx, exp, ev.
 */
export const PRUNE_SCRIPT = `${FORGET}
for i = 1, #ARGV do
  forget(ARGV[i])
end
if redis.call('ZCARD', KEYS[1]) == 0 then
  redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
end
return 1
`;

/**
 * Indexes a new session under its user and enforces `maxSessionsPerUser`, atomically.
 *
 * KEYS idx, exp, ev [, session hash — single node only: the session is then written here too].
 * ARGV: id, createdAt, absoluteExpiresAt, now, limit (-1: none), policy, checked ('1'|'0'),
 *       nDead, nDead × dead id, [ttlMs, field, value, ...].
 *
 * Entries past their absolute expiry and the `dead` ids (sessions the caller found gone) are
 * dropped first. Sessions that merely idled out cannot be seen from this slot, so when the user
 * is at the limit and `checked` is '0' the script changes nothing else and answers
 * `{'check', ids}`: the caller reads those sessions (dead stays dead: ids are never reused) and
 * calls again with `checked` '1', which decides. Replies: `{'ok', ids to delete}` (the `ev`
 * set: sessions evicted now or by an earlier login whose deletion failed), `{'refuse', {}}`.
 */
export const INDEX_SCRIPT = `${CHUNKS}${WRITE_SESSION}${FORGET}
local idx, exp, ev = KEYS[1], KEYS[2], KEYS[3]
local id = ARGV[1]
local now = tonumber(ARGV[4])
local limit = tonumber(ARGV[5])
local nDead = tonumber(ARGV[8])
for i = 9, 8 + nDead do
  forget(ARGV[i])
end
for _, member in ipairs(redis.call('ZRANGEBYSCORE', exp, '-inf', ARGV[4])) do
  forget(member)
end
local present = redis.call('ZSCORE', idx, id)
if present then
  redis.call('SREM', ev, id)
end
local others = redis.call('ZCARD', idx) - redis.call('SCARD', ev)
if present then
  others = others - 1
end
if limit >= 0 and others >= limit then
  local counted = {}
  for _, member in ipairs(redis.call('ZRANGE', idx, 0, -1)) do
    if member ~= id and redis.call('SISMEMBER', ev, member) == 0 then
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
for _, key in ipairs({idx, exp, ev}) do
  local left = redis.call('PTTL', key)
  if left ~= -2 and left < keep then
    redis.call('PEXPIRE', key, keep)
  end
end
if #KEYS == 4 then
  writeSession(KEYS[4], ARGV, 9 + nDead)
end
return {'ok', redis.call('SMEMBERS', ev)}
`;
