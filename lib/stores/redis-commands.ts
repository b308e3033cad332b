import { DESTROY_OWNED_SCRIPT, INDEX_SCRIPT, PRUNE_SCRIPT } from './redis-index-scripts.js';
import { SWAP_BINDING_SCRIPT } from './redis-binding.js';
import {
  CLAIM_SCRIPT,
  CLIENT_SCRIPT,
  DESTROY_ROTATED_SCRIPT,
  MOVE_SCRIPT,
  UPDATE_SCRIPT,
  WRITE_SCRIPT,
} from './redis-scripts.js';
import type { RedisStoreClient } from './redis-session.store.js';

/** Arguments a defined script takes: keys then arguments, flattened. */
type ScriptCall = (...args: (string | number)[]) => Promise<unknown>;

/** The scripts `defineCommand` adds to the client, under names unlikely to clash with an app's. */
export interface ScriptClient {
  nestSecureSessionWrite: ScriptCall;
  nestSecureSessionMove: ScriptCall;
  nestSecureSessionClaim: ScriptCall;
  nestSecureSessionUpdate: ScriptCall;
  nestSecureSessionIndex: ScriptCall;
  nestSecureSessionPrune: ScriptCall;
  nestSecureSessionDestroyOwned: ScriptCall;
  nestSecureSessionClient: ScriptCall;
  nestSecureSessionDestroyRotated: ScriptCall;
  nestSecureSessionSwapBinding: ScriptCall;
}

export type IndexReply = ['ok' | 'check' | 'refuse' | 'revoked', string[]];
/** `UPDATE_SCRIPT`: 1 applied, 0 the session is gone, 2 too large (with the size). */
export type UpdateReply = [0 | 1 | 2, number];
/** `DESTROY_OWNED_SCRIPT`: deleted (0|1), and the id a tombstone points to, or ''. */
export type DestroyReply = [0 | 1, string];

export const SCRIPTS: Record<keyof ScriptClient, { lua: string; numberOfKeys?: number }> = {
  nestSecureSessionWrite: { lua: WRITE_SCRIPT, numberOfKeys: 1 },
  nestSecureSessionMove: { lua: MOVE_SCRIPT, numberOfKeys: 2 },
  nestSecureSessionClaim: { lua: CLAIM_SCRIPT, numberOfKeys: 1 },
  nestSecureSessionUpdate: { lua: UPDATE_SCRIPT, numberOfKeys: 1 },
  // Four keys on a Cluster, five or six on a single node: the key count is passed per call.
  nestSecureSessionIndex: { lua: INDEX_SCRIPT },
  nestSecureSessionPrune: { lua: PRUNE_SCRIPT, numberOfKeys: 4 },
  nestSecureSessionDestroyOwned: { lua: DESTROY_OWNED_SCRIPT, numberOfKeys: 1 },
  nestSecureSessionClient: { lua: CLIENT_SCRIPT, numberOfKeys: 1 },
  nestSecureSessionDestroyRotated: { lua: DESTROY_ROTATED_SCRIPT, numberOfKeys: 1 },
  nestSecureSessionSwapBinding: { lua: SWAP_BINDING_SCRIPT, numberOfKeys: 1 },
};

/** Parts of a user's index, all in the slot of the tag `{u:<userId>}`. */
export type UserKeyPart = 'idx' | 'exp' | 'ev' | 'mv';

/**
 * What the store's internals share: the client, its defined scripts, and the key layout (the
 * store's own, possibly overridden, `sessionKey` and `userKey`).
 */
export interface RedisStoreContext {
  readonly client: RedisStoreClient;
  readonly scripts: ScriptClient;
  sessionKey(id: string): string;
  userKey(userId: string, part: UserKeyPart): string;
}

/** The four keys of a user's index, in the order the scripts take them. */
export function userKeys(ctx: RedisStoreContext, userId: string): string[] {
  return (['idx', 'exp', 'ev', 'mv'] as const).map((part) => ctx.userKey(userId, part));
}
