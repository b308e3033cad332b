import type { RevocationSubject } from '../interfaces/revocation-store.interface.js';

/**
 * Records `<value>:<until>` under KEYS[1], keeping the larger value and the later `until` of
 * what is stored and what is asked, and a TTL that ends at that `until`.
 * ARGV: value, until, ttl (ms, from the caller's clock).
 */
export const REVOKE_SCRIPT = `
local value, untilMs, ttl = ARGV[1], ARGV[2], tonumber(ARGV[3])
local stored = redis.call('GET', KEYS[1])
if stored then
  local sep = string.find(stored, ':', 1, true)
  if sep then
    local storedValue, storedUntil = string.sub(stored, 1, sep - 1), string.sub(stored, sep + 1)
    if tonumber(storedValue) and tonumber(storedValue) > tonumber(value) then
      value = storedValue
    end
    if tonumber(storedUntil) and tonumber(storedUntil) > tonumber(untilMs) then
      untilMs = storedUntil
      local left = redis.call('PTTL', KEYS[1])
      if left > ttl then ttl = left end
    end
  end
end
redis.call('SET', KEYS[1], value .. ':' .. untilMs, 'PX', ttl)
return 1
`;

/** What the revocation keys need from the client (an ioredis `Redis` or `Cluster`). */
export interface RedisRevocationClient {
  defineCommand(name: string, definition: { lua: string; numberOfKeys?: number }): void;
  get(key: string): Promise<string | null>;
}

interface RevokeCommand {
  nestSecureSessionRevoke(key: string, value: number, until: number, ttl: number): Promise<unknown>;
}

/**
 * `RedisStore`'s side of the `RevocationStore` contract. One string key per revoked session,
 * `{prefix}{<id>}:rev`, and one per user with a not-before, `{prefix}{u:<userId>}:nb`, each
 * `<value>:<until>` with a TTL ending at `until`; nothing else, so the only bound is Redis's
 * memory. Redis must run with `maxmemory-policy noeviction`: under an evicting policy a
 * revocation key could be dropped before its time and a logged-out cookie would work again.
 * With `noeviction` a full Redis rejects the write and the logout answers `503` instead.
 */
export class RedisRevocations {
  private readonly commands: RevokeCommand;

  constructor(
    private readonly client: RedisRevocationClient,
    private readonly prefix: string,
  ) {
    client.defineCommand('nestSecureSessionRevoke', { lua: REVOKE_SCRIPT, numberOfKeys: 1 });
    this.commands = client as unknown as RevokeCommand;
  }

  async revoke(id: string, until: number, now = Date.now()): Promise<void> {
    await this.record(this.sessionKey(id), until, until, now);
  }

  async revokeUser(
    userId: string,
    notBefore: number,
    until: number,
    now = Date.now(),
  ): Promise<void> {
    await this.record(this.userKey(userId), notBefore, until, now);
  }

  /** Two `GET`s, sent together (one round trip; pipelined with `enableAutoPipelining`). */
  async isRevoked(session: RevocationSubject, now = Date.now()): Promise<boolean> {
    const [revoked, user] = await Promise.all([
      this.client.get(this.sessionKey(session.id)),
      session.userId === null ? null : this.client.get(this.userKey(session.userId)),
    ]);
    const byId = parse(revoked);
    const byUser = parse(user);
    if (byId === undefined || byUser === undefined) {
      // Only this class writes these keys: an entry it cannot read fails closed.
      return true;
    }
    if (byId !== null && byId.until > now) {
      return true;
    }
    return byUser !== null && byUser.until > now && session.createdAt < byUser.value;
  }

  private async record(key: string, value: number, until: number, now: number): Promise<void> {
    for (const [name, time] of [
      ['value', value],
      ['until', until],
      ['now', now],
    ] as const) {
      if (!Number.isSafeInteger(time)) {
        throw new TypeError(`revocation ${name} must be an integer number of ms (got ${time})`);
      }
    }
    const ttl = until - now;
    if (ttl >= 1) {
      await this.commands.nestSecureSessionRevoke(key, value, until, ttl);
    }
  }

  /** Beside the session hash's key (same hash tag), under a suffix no session key has. */
  private sessionKey(id: string): string {
    return `${this.prefix}{${id}}:rev`;
  }

  /** In the slot of the user's session index. */
  private userKey(userId: string): string {
    return `${this.prefix}{u:${userId}}:nb`;
  }
}

/** `<value>:<until>` as numbers; `null` when missing, `undefined` when malformed. */
function parse(stored: string | null): { value: number; until: number } | null | undefined {
  if (stored === null) {
    return null;
  }
  const sep = stored.indexOf(':');
  const value = Number(stored.slice(0, sep));
  const until = Number(stored.slice(sep + 1));
  return sep > 0 && Number.isFinite(value) && Number.isFinite(until) ? { value, until } : undefined;
}
