/**
 * Lua scripts of `RedisStore`. Each runs atomically on the one node that owns its keys, and
 * every script touches keys of ONE hash slot only, so all of them are valid on Redis Cluster:
 *
 * - session scripts get one key: the session hash `{prefix}{<id>}`;
 * - index scripts get the four per-user keys `{prefix}{u:<userId>}:idx|exp|ev|mv`, which share
 *   the hash tag `{u:<userId>}`. On a single node (never on a Cluster) the login script also
 *   gets the new session hash and the one it replaces, so a login or a move is one atomic
 *   script there; so is the move of an anonymous session (`MOVE_SCRIPT`).
 *
 * Per-user keys: `idx` is a sorted set of the user's session ids by `createdAt` (oldest first),
 * `exp` the same ids by `absoluteExpiresAt` (so entries past their hard end are pruned without
 * reading other slots), `ev` the ids chosen for eviction whose hashes may still exist, and `mv`
 * (Cluster only) the ids being moved to a new id whose hashes may still exist. Members of `ev`
 * and `mv` no longer count towards the limit, but stay in `idx` so that `destroyByUser` still
 * reaches them. Invariant: `ev` and `mv` ⊆ `idx`, disjoint, and `idx` and `exp` hold the same ids.
 *
 * A moved session leaves a tombstone, a hash holding only `movedTo` (the new id), for what was
 * left of its life: reads, updates and moves treat it as gone, and `destroyByUser` follows it, so
 * a revoke-all that listed the old id before the move still ends the new session. A token
 * rotation's tombstone also holds `graceEndsAt`, `successor` and `owner` (never `userId`), and is
 * kept until the session's absolute expiry; `destroyRotated` removes tombstones as it follows them.
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
  /** The client fingerprint of hijack signals, as JSON (`{ agent, network, stepUp }`). */
  client: 'client',
  /** Bytes of the data (keys and values, as `maxDataSize` measures it), kept by every write. */
  dataSize: 'dataSize',
  /** When token rotation last moved the session to a new token (absent before the first). */
  rotatedAt: 'rotatedAt',
  /** The id before the first rotation (the CSRF token's binding). */
  originId: 'originId',
  /** The device key bound to the session (`deviceBound`), as the library encoded it. */
  deviceBinding: 'deviceBinding',
  /** Only in a tombstone: the id the session moved to. */
  movedTo: 'movedTo',
  /** Only in a rotation's tombstone: the end of its grace window. */
  graceEndsAt: 'graceEndsAt',
  /** Only in a rotation's tombstone: the sealed successor token, verbatim. */
  successor: 'successor',
  /** Only in a rotation's tombstone: the user (never `userId`: a tombstone is nobody's session). */
  owner: 'owner',
} as const;

/** Prefix of data fields: a data key can never overwrite a metadata field. */
export const DATA_FIELD_PREFIX = 'd:';

// HSET/HDEL take at most this many arguments per call: `unpack` of a large table would overflow
// the Lua C stack. Even, so field/value pairs never straddle two calls.
export const CHUNKS = `
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
export const WRITE_SESSION = `
local function writeSession(key, args, first)
  redis.call('DEL', key)
  callChunks('HSET', key, args, first + 1, #args)
  redis.call('PEXPIRE', key, args[first])
end
`;

/**
 * `claimable(key, now)`: whether the session hash is live at `now` (a session, not a tombstone,
 * neither idle nor past its absolute expiry). `claim(key, newId, now, graceEndsAt, successor)`:
 * ends it, leaving a tombstone pointing to `newId` if it belonged to a user (whose revoke-all
 * may follow it) for the rest of its TTL; a token rotation (`successor` not '') leaves one with
 * the grace end, the sealed successor and the owner, kept until the absolute expiry.
 */
export const CLAIM = `
local function claimable(key, now)
  local meta = redis.call('HMGET', key, '${FIELD.absoluteExpiresAt}', '${FIELD.expiresAt}')
  local absolute, idle = tonumber(meta[1] or ''), tonumber(meta[2] or '')
  return absolute ~= nil and idle ~= nil and absolute > now and idle > now
end
local function claim(key, newId, now, graceEndsAt, successor)
  if not claimable(key, now) then
    return false
  end
  local meta = redis.call('HMGET', key, '${FIELD.userId}', '${FIELD.absoluteExpiresAt}')
  local left = redis.call('PTTL', key)
  if left <= 0 then
    left = tonumber(meta[2]) - now
  end
  redis.call('DEL', key)
  if successor ~= nil and successor ~= '' then
    redis.call('HSET', key, '${FIELD.movedTo}', newId, '${FIELD.graceEndsAt}', graceEndsAt,
      '${FIELD.successor}', successor)
    if meta[1] then
      redis.call('HSET', key, '${FIELD.owner}', meta[1])
    end
    redis.call('PEXPIRE', key, math.max(1, math.floor(tonumber(meta[2]) - now)))
  elseif meta[1] then
    redis.call('HSET', key, '${FIELD.movedTo}', newId)
    redis.call('PEXPIRE', key, math.max(1, math.floor(left)))
  end
  return true
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
 * Moves an anonymous session to a new id, atomically (single node): writes the new hash only if
 * the replaced one is live, and ends that one. KEYS[1] new session hash, KEYS[2] replaced hash.
 * ARGV: newId, now, graceEndsAt, successor ('' unless a rotation), ttlMs, field, value...
 * Returns 1, or 0 (the replaced session is gone).
 */
export const MOVE_SCRIPT = `${CHUNKS}${WRITE_SESSION}${CLAIM}
if not claim(KEYS[2], ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]) then
  return 0
end
writeSession(KEYS[1], ARGV, 5)
return 1
`;

/**
 * The replaced half of a move on a Cluster, run after the new session is written and indexed:
 * ends the replaced session if it is live. KEYS[1] replaced hash. ARGV: newId, now,
 * graceEndsAt, successor ('' unless a rotation). Returns 1, or 0 (gone: the move must be undone).
 */
export const CLAIM_SCRIPT = `${CLAIM}
if claim(KEYS[1], ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]) then
  return 1
end
return 0
`;

/**
 * Replaces the client fingerprint of a live session (not a tombstone, never recreating a hash
 * that is gone); the TTL is left as it is. KEYS[1] session hash. ARGV[1] the fingerprint's
 * JSON. Returns 1, or 0 (the session is gone).
 */
export const CLIENT_SCRIPT = `
if redis.call('HEXISTS', KEYS[1], '${FIELD.absoluteExpiresAt}') == 0 then
  return 0
end
redis.call('HSET', KEYS[1], '${FIELD.client}', ARGV[1])
return 1
`;

/**
 * One step of `destroyRotated`: deletes a live session hash, or removes a tombstone and names
 * the id it points to (the caller follows it). KEYS[1] session hash. Returns {1, ''} (a session
 * was deleted), {0, nextId} (a tombstone), {0, ''} (nothing there).
 */
export const DESTROY_ROTATED_SCRIPT = `
local meta = redis.call('HMGET', KEYS[1], '${FIELD.createdAt}', '${FIELD.movedTo}')
if meta[1] then
  redis.call('DEL', KEYS[1])
  return {1, ''}
end
if meta[2] then
  redis.call('DEL', KEYS[1])
  return {0, meta[2]}
end
return {0, ''}
`;

/**
 * Applies a delta and moves the expiry; also serves `touch` (an empty delta). Writes nothing
 * when the session is gone (it must not come back: HSET would create the hash) or when the data
 * would pass `maxDataSize`. The data size is kept in the `dataSize` field, so the check costs
 * O(keys in the delta), not O(session); a hash without it (written by an older version) is
 * measured once. The TTL is clamped to the session's own absolute expiry, so it can never
 * outlive it whatever the caller passes.
 * KEYS[1] session hash. ARGV: lastSeenAt, expiresAt, ttlMs, maxDataSize (-1: none), n,
 * n × (field, value), fields to delete... Returns {1, 0}, {0, 0} (gone) or {2, size} (too large).
 */
export const UPDATE_SCRIPT = `${CHUNKS}
local key = KEYS[1]
local absolute = redis.call('HGET', key, '${FIELD.absoluteExpiresAt}')
if not absolute then
  return {0, 0}
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
  return {0, 0}
end
local limit = tonumber(ARGV[4])
local lastSet = 5 + 2 * tonumber(ARGV[5])
local size = tonumber(redis.call('HGET', key, '${FIELD.dataSize}') or '')
if #ARGV > 5 or limit >= 0 then
  -- The size after this delta, of the data as stored now (concurrent requests' keys
  -- included): the stored total, adjusted by the keys the delta names.
  if size == nil then
    size = 0
    local flat = redis.call('HGETALL', key)
    for i = 1, #flat, 2 do
      if string.sub(flat[i], 1, 2) == '${DATA_FIELD_PREFIX}' then
        size = size + #flat[i] - 2 + #flat[i + 1]
      end
    end
  end
  local function without(field)
    local length = redis.call('HSTRLEN', key, field)
    if length > 0 or redis.call('HEXISTS', key, field) == 1 then
      size = size - (#field - 2 + length)
    end
  end
  for i = 6, lastSet, 2 do
    without(ARGV[i])
    size = size + #ARGV[i] - 2 + #ARGV[i + 1]
  end
  for i = lastSet + 1, #ARGV do
    without(ARGV[i])
  end
  if limit >= 0 and size > limit then
    return {2, size}
  end
end
callChunks('HSET', key, ARGV, 6, lastSet)
callChunks('HDEL', key, ARGV, lastSet + 1, #ARGV)
redis.call('HSET', key, '${FIELD.lastSeenAt}', ARGV[1], '${FIELD.expiresAt}', storedExpiresAt)
if #ARGV > 5 then
  redis.call('HSET', key, '${FIELD.dataSize}', size)
end
redis.call('PEXPIRE', key, ttl)
return {1, 0}
`;
