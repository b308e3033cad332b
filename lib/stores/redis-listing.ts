import type { SessionRecord } from '../interfaces/session-store.interface.js';
import { userKeys, type DestroyReply, type RedisStoreContext } from './redis-commands.js';
import { decodeRecord } from './redis-record.codec.js';
import { FIELD } from './redis-scripts.js';

/** Tombstones `destroyByUser` follows from one listed id (moves made while it runs). */
const MAX_FOLLOWED_MOVES = 16;

/** `listByUser`: the user's live sessions, oldest first; drops the index entries found dead. */
export async function listByUser(
  ctx: RedisStoreContext,
  userId: string,
  limit?: number,
): Promise<SessionRecord[]> {
  const index = ctx.userKey(userId, 'idx');
  const live = new Map<string, SessionRecord>();
  const dead: string[] = [];
  // Newest first, a page at a time, until `limit` live sessions (or the index) are read.
  let examined = 0;
  while (limit === undefined || live.size < limit) {
    const wanted = limit === undefined ? Infinity : limit - live.size;
    const ids =
      limit === undefined
        ? await ctx.client.zrange(index, '0', '-1')
        : await ctx.client.zrange(index, String(-(examined + wanted)), String(-(examined + 1)));
    const hashes = await Promise.all(ids.map((id) => ctx.client.hgetall(ctx.sessionKey(id))));
    ids.forEach((id, i) => {
      const record = decodeRecord(id, hashes[i]);
      if (record !== null && record.userId === userId) {
        live.set(id, record);
      } else {
        dead.push(id);
      }
    });
    examined += ids.length;
    if (ids.length < wanted) {
      break;
    }
  }
  if (dead.length > 0) {
    await prune(ctx, userId, dead);
  }
  return [...live.values()].sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1));
}

/** `destroyByUser`: ends every indexed session of the user but `exceptId`; the number deleted. */
export async function destroyByUser(
  ctx: RedisStoreContext,
  userId: string,
  exceptId?: string,
): Promise<number> {
  const ids = (await ctx.client.zrange(ctx.userKey(userId, 'idx'), '0', '-1')).filter(
    (id) => id !== exceptId,
  );
  if (ids.length === 0) {
    return 0;
  }
  const deleted = await Promise.all(ids.map((id) => destroyMoved(ctx, id, userId, exceptId)));
  await prune(ctx, userId, ids);
  return deleted.reduce((sum, n) => sum + n, 0);
}

/**
 * Deletes `id` if it is the user's, and follows its tombstones: a session that moved to a new
 * id since `id` was listed is ended too (except `exceptId`). Resolves to the number deleted.
 */
async function destroyMoved(
  ctx: RedisStoreContext,
  id: string,
  userId: string,
  exceptId?: string,
): Promise<number> {
  let deleted = 0;
  let next = id;
  for (let moves = 0; next !== '' && moves <= MAX_FOLLOWED_MOVES; moves++) {
    const [count, movedTo] = (await ctx.scripts.nestSecureSessionDestroyOwned(
      ctx.sessionKey(next),
      userId,
    )) as DestroyReply;
    deleted += Number(count);
    next = movedTo === exceptId ? '' : movedTo;
  }
  return deleted;
}

/**
 * Of these indexed ids, those whose session is gone or is no longer the user's (a tombstone
 * has no `userId`: a moved session is gone).
 */
export async function deadAmong(
  ctx: RedisStoreContext,
  userId: string,
  ids: string[],
): Promise<string[]> {
  const owners = await Promise.all(
    ids.map((id) => ctx.client.hget(ctx.sessionKey(id), FIELD.userId)),
  );
  return ids.filter((_, i) => owners[i] !== userId);
}

/** Drops these ids from every part of the user's index. */
export async function prune(ctx: RedisStoreContext, userId: string, ids: string[]): Promise<void> {
  await ctx.scripts.nestSecureSessionPrune(...userKeys(ctx, userId), ...ids);
}
