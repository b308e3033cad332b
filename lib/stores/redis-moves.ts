import { SessionLimitExceededError, SessionRevokedError } from '../core/session.errors.js';
import type {
  SessionRecord,
  SessionRotation,
  SessionSetResult,
  SessionWriteOptions,
} from '../interfaces/session-store.interface.js';
import { assertValue } from './redis-record.codec.js';
import {
  userKeys,
  type DestroyReply,
  type IndexReply,
  type RedisStoreContext,
} from './redis-commands.js';
import { deadAmong, prune } from './redis-listing.js';

/**
 * An anonymous session moved to a new id (`replaces`): one script on a single node; on a
 * Cluster the new hash is written, then the replaced one claimed, and the move undone (the new
 * hash deleted) when the replaced session is gone. Rejects with `SessionRevokedError` then.
 */
export async function moveAnonymous(
  ctx: RedisStoreContext,
  record: SessionRecord,
  key: string,
  replaced: string,
  now: number,
  ttl: number,
  fields: string[],
  rotation: SessionRotation | undefined,
): Promise<void> {
  if (!ctx.client.isCluster) {
    const moved = await ctx.scripts.nestSecureSessionMove(
      key,
      replaced,
      record.id,
      now,
      ...rotationArgs(rotation),
      ttl,
      ...fields,
    );
    if (Number(moved) !== 1) {
      throw new SessionRevokedError();
    }
  } else {
    await ctx.scripts.nestSecureSessionWrite(key, ttl, ...fields);
    if (!(await claim(ctx, replaced, record.id, now, rotation))) {
      await ctx.client.del(key);
      throw new SessionRevokedError();
    }
  }
}

/**
 * An authenticated session's write: the hash, its place in the user's index (with the per-user
 * limit), and the end of the session it replaces, if any (see `RedisStore`'s notes).
 */
export async function setForUser(
  ctx: RedisStoreContext,
  record: SessionRecord,
  userId: string,
  key: string,
  now: number,
  ttl: number,
  fields: string[],
  options: SessionWriteOptions,
): Promise<SessionSetResult> {
  const limit = options.maxSessionsPerUser;
  if (limit !== undefined && !(Number.isInteger(limit) && limit >= 0)) {
    throw new TypeError(`maxSessionsPerUser must be a non-negative integer (got ${limit})`);
  }
  const replaces = options.replaces;
  const replaced = replaces === undefined ? null : ctx.sessionKey(replaces);
  // A Cluster cannot run one script over the session's slot and the user's: write the hash
  // first (see the class notes for why that order is the safe one).
  const together = !ctx.client.isCluster;
  if (!together) {
    await ctx.scripts.nestSecureSessionWrite(key, ttl, ...fields);
  }
  const keys = [
    ...userKeys(ctx, userId),
    ...(together ? [key, ...(replaced === null ? [] : [replaced])] : []),
  ];
  /** `dead`: ids found gone by a check round, or `null` before any check. */
  const index = (dead: string[] | null): Promise<IndexReply> =>
    ctx.scripts.nestSecureSessionIndex(
      keys.length,
      ...keys,
      record.id,
      record.createdAt,
      record.absoluteExpiresAt,
      now,
      limit ?? -1,
      options.limitPolicy ?? 'evict-oldest',
      dead === null ? '0' : '1',
      replaces ?? '',
      dead?.length ?? 0,
      ...(dead ?? []),
      ...(together ? [...rotationArgs(options.rotation), ttl, ...fields] : []),
    ) as Promise<IndexReply>;
  let indexed = false;
  try {
    let [outcome, ids] = await index(null);
    if (outcome === 'check') {
      [outcome, ids] = await index(await deadAmong(ctx, userId, ids));
    }
    if (outcome === 'refuse') {
      throw new SessionLimitExceededError(limit ?? 0);
    }
    if (outcome === 'revoked') {
      throw new SessionRevokedError();
    }
    indexed = true;
    const gone = [...ids];
    if (!together && replaced !== null && replaces !== undefined) {
      if (!(await claim(ctx, replaced, record.id, now, options.rotation))) {
        throw new SessionRevokedError();
      }
      gone.push(replaces);
    }
    const evicted: string[] = [];
    if (ids.length > 0) {
      const replies = (await Promise.all(
        ids.map((id) => ctx.scripts.nestSecureSessionDestroyOwned(ctx.sessionKey(id), userId)),
      )) as DestroyReply[];
      // Only the hashes this call deleted: one that had expired (or went with a revoke-all)
      // was not ended by the limit.
      ids.forEach((id, i) => Number(replies[i][0]) === 1 && evicted.push(id));
      await prune(ctx, userId, gone);
    } else if (gone.length > 0) {
      // The replaced id's hash is a tombstone now; its entry can go without waiting.
      void prune(ctx, userId, gone).catch(() => undefined);
    }
    return { evicted };
  } catch (error) {
    await undoLogin(ctx, key, userId, indexed ? [record.id, replaces] : [], error);
    throw error;
  }
}

/** Cluster: ends the replaced session, if it is still live; `false` when it is gone. */
async function claim(
  ctx: RedisStoreContext,
  replaced: string,
  id: string,
  now: number,
  rotation: SessionRotation | undefined,
): Promise<boolean> {
  const args = rotationArgs(rotation);
  return Number(await ctx.scripts.nestSecureSessionClaim(replaced, id, now, ...args)) === 1;
}

/** A rotation's tombstone arguments (graceEndsAt, successor), or two '' for a plain move. */
function rotationArgs(rotation: SessionRotation | undefined): (string | number)[] {
  return rotation === undefined
    ? ['', '']
    : [Math.floor(rotation.graceEndsAt), assertValue('successor', rotation.successor)];
}

/**
 * The login or move failed, so its session must not linger (on a Cluster it is already
 * written). A refusal (limit, session gone) is an answer: the hash is deleted before the
 * caller hears it, so no other client can still read it. After an infrastructure failure its
 * token was never handed out, so if the deletion fails too nothing usable is left; not
 * awaited, so a stalled server costs the login one command timeout, not two.
 */
async function undoLogin(
  ctx: RedisStoreContext,
  key: string,
  userId: string,
  indexed: (string | undefined)[],
  error: unknown,
): Promise<void> {
  const answered =
    error instanceof SessionLimitExceededError || error instanceof SessionRevokedError;
  if (answered && !ctx.client.isCluster) {
    return; // One script decided: it wrote nothing.
  }
  const deletion = ctx.client.del(key);
  const dead = indexed.filter((id): id is string => id !== undefined);
  if (answered) {
    await deletion;
    if (dead.length > 0) {
      void prune(ctx, userId, dead).catch(() => undefined);
    }
  } else {
    void deletion.catch(() => undefined);
  }
}
