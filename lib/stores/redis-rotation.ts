import type { SessionTombstone } from '../interfaces/session-store.interface.js';
import type { RedisStoreContext } from './redis-commands.js';
import { decodeTombstone } from './redis-record.codec.js';

/** Most tombstones `destroyRotated` follows: one per rotation or move, never a cycle. */
const MAX_FOLLOWED_ROTATIONS = 1_000;

/** `getTombstone`: the rotation tombstone in the id's hash (one `HGETALL`), or `null`. */
export async function getTombstone(
  ctx: RedisStoreContext,
  id: string,
): Promise<SessionTombstone | null> {
  return decodeTombstone(await ctx.client.hgetall(ctx.sessionKey(id)));
}

/**
 * `destroyRotated`: one script per hop, each in its own hash's slot (valid on a Cluster). A hop
 * deletes a live session (the end of the chain) or removes a tombstone and follows it. Against
 * a move of the same hash (rotation, regenerate) each hop is atomic: the move either finds its
 * session deleted (and is undone, see `RedisStore`) or left a tombstone this hop follows; on a
 * Cluster the new hash is written before the old one is claimed, so a followed id exists.
 */
export async function destroyRotated(ctx: RedisStoreContext, id: string): Promise<string[]> {
  let next = id;
  for (let hops = 0; next !== '' && hops <= MAX_FOLLOWED_ROTATIONS; hops++) {
    const [deleted, movedTo] = (await ctx.scripts.nestSecureSessionDestroyRotated(
      ctx.sessionKey(next),
    )) as [0 | 1, string];
    if (Number(deleted) === 1) {
      return [next];
    }
    next = movedTo;
  }
  return [];
}
