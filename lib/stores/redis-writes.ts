import { SessionDataTooLargeError, SessionRevokedError } from '../core/session.errors.js';
import type {
  ClientFingerprint,
  SessionDelta,
  SessionRecord,
  SessionSetResult,
  SessionTouch,
  SessionUpdateOptions,
  SessionWriteOptions,
} from '../interfaces/session-store.interface.js';
import type { RedisStoreContext, UpdateReply } from './redis-commands.js';
import { moveAnonymous, setForUser } from './redis-moves.js';
import { assertValue, encodeClient, encodeRecord, finiteTtl } from './redis-record.codec.js';
import { DATA_FIELD_PREFIX } from './redis-scripts.js';

/** `set`: writes the whole record; a login indexes it, a move (`replaces`) ends the old id. */
export async function writeRecord(
  ctx: RedisStoreContext,
  record: SessionRecord,
  ttlMs: number,
  options: SessionWriteOptions,
): Promise<SessionSetResult> {
  const key = ctx.sessionKey(record.id);
  const now = record.expiresAt - ttlMs;
  const ttl = Math.floor(Math.min(ttlMs, record.absoluteExpiresAt - now));
  const replaced = options.replaces === undefined ? null : ctx.sessionKey(options.replaces);
  if (!(ttl >= 1)) {
    // Already past its expiry: nothing to keep (and an older session under this id goes).
    await Promise.all([key, replaced ?? key].map((gone) => ctx.client.del(gone)));
    return { evicted: [] };
  }
  const fields = encodeRecord(record);
  if (record.userId !== null) {
    return setForUser(ctx, record, record.userId, key, now, ttl, fields, options);
  }
  if (replaced === null) {
    await ctx.scripts.nestSecureSessionWrite(key, ttl, ...fields);
  } else {
    await moveAnonymous(ctx, record, key, replaced, now, ttl, fields, options.rotation);
  }
  return { evicted: [] };
}

/** `update`: applies only the delta, checking `maxDataSize` against the data as stored. */
export async function updateRecord(
  ctx: RedisStoreContext,
  id: string,
  delta: SessionDelta,
  touch: SessionTouch,
  ttlMs: number,
  options: SessionUpdateOptions,
): Promise<void> {
  const args: (string | number)[] = [];
  for (const [key, value] of Object.entries(delta.set)) {
    args.push(DATA_FIELD_PREFIX + key, assertValue(key, value));
  }
  const count = args.length / 2;
  for (const key of delta.deleted) {
    args.push(DATA_FIELD_PREFIX + key);
  }
  const limit = options.maxDataSize;
  const [outcome, size] = (await ctx.scripts.nestSecureSessionUpdate(
    ctx.sessionKey(id),
    touch.lastSeenAt,
    touch.expiresAt,
    finiteTtl(ttlMs),
    limit === undefined ? -1 : Math.max(0, Math.floor(limit)),
    count,
    ...args,
  )) as UpdateReply;
  if (outcome === 2) {
    throw new SessionDataTooLargeError(null, Number(size), limit ?? 0);
  }
  if (outcome !== 1) {
    throw new SessionRevokedError();
  }
}

/** `setClient`: replaces the fingerprint of a live session; never recreates one that is gone. */
export async function writeClient(
  ctx: RedisStoreContext,
  id: string,
  client: ClientFingerprint,
): Promise<void> {
  const written = await ctx.scripts.nestSecureSessionClient(
    ctx.sessionKey(id),
    encodeClient(client),
  );
  if (Number(written) !== 1) {
    throw new SessionRevokedError();
  }
}

/** `touch`: moves the expiry only; never writes to a session that is gone. */
export async function touchRecord(
  ctx: RedisStoreContext,
  id: string,
  touch: SessionTouch,
  ttlMs: number,
): Promise<void> {
  const [outcome] = (await ctx.scripts.nestSecureSessionUpdate(
    ctx.sessionKey(id),
    touch.lastSeenAt,
    touch.expiresAt,
    finiteTtl(ttlMs),
    -1,
    0,
  )) as UpdateReply;
  if (outcome !== 1) {
    throw new SessionRevokedError();
  }
}
