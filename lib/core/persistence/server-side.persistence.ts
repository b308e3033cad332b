import { sessionIdOf, signToken, verifySignedToken } from '../../crypto/session-token.js';
import type { SessionEvents } from '../../events/session-events.js';
import type {
  SessionRecord,
  SessionRotation,
  SessionStore,
  SessionUpdateOptions,
  SessionWriteOptions,
} from '../../interfaces/session-store.interface.js';
import type { ResolvedSessionOptions } from '../../options/resolve-session-options.js';
import { dropPrototypeKeys } from '../session-data.codec.js';
import type { TokenRotation } from '../session-rotation.js';
import { isExpired, touchAt } from '../session-record.js';
import { failClosed } from '../session.errors.js';
import type {
  OpenedSession,
  SaveResult,
  SessionPersistence,
  SessionWork,
} from './session-persistence.js';

const NOTHING_SAVED: SaveResult = { persisted: false, value: null };

/**
 * Sessions kept in a `SessionStore`; the client holds only a signed token, and the store keys
 * the session by the token's SHA-256, so a store dump yields no usable token. Every write is
 * one store call that the store makes conditional on the session still being there: a move to
 * a new id carries `replaces`, an update carries `maxDataSize`, and the store answers
 * `SessionRevokedError` (or `SessionDataTooLargeError`) instead of writing.
 */
export class ServerSidePersistence implements SessionPersistence {
  readonly sealsValues: boolean;
  private readonly updateOptions: SessionUpdateOptions;

  constructor(
    private readonly store: SessionStore,
    private readonly options: ResolvedSessionOptions,
    private readonly events: SessionEvents,
    private readonly rotation: TokenRotation | null = null,
  ) {
    this.sealsValues = options.encryptAtRest;
    this.updateOptions = Object.freeze({ maxDataSize: options.maxDataSize });
  }

  idOf(token: string): string {
    return sessionIdOf(token);
  }

  async open(value: string, now: number, renewable = true): Promise<OpenedSession | null> {
    const verified = verifySignedToken(value, this.options.signingKeys);
    if (verified === null) {
      return null;
    }
    const id = verified.id;
    const record = await failClosed(this.store.get(id));
    if (record === null) {
      if (!renewable || this.rotation === null) {
        return null;
      }
      // A rotated-out token: its successor in the grace window, theft after it.
      const successor = await this.rotation.successorOf(id, verified.token, now, false);
      return successor === null ? null : { ...successor, stale: true };
    }
    if (isExpired(record, now)) {
      await failClosed(this.store.destroy(id));
      this.events.emit({ type: 'expired', sessionId: id, userId: record.userId, source: 'seen' });
      return null;
    }
    dropPrototypeKeys(record.data);
    return { record, token: verified.token, stale: verified.keyIndex > 0 };
  }

  async save(work: SessionWork): Promise<SaveResult> {
    const { record, now } = work;
    const touch = touchAt(now, record, this.options.idleTimeoutMs);
    const ttlMs = Math.max(1, touch.expiresAt - now);
    if (work.isNew) {
      if (record.userId === null && Object.keys(record.data).length === 0) {
        return NOTHING_SAVED;
      }
      Object.assign(record, touch);
      const replaces = this.store.supportsReplaces === true ? work.replaces : null;
      const write = this.writeOptions(record.userId, replaces, work.rotation);
      const result = await failClosed(this.store.set(record, ttlMs, write));
      const evicted = result?.evicted ?? [];
      if (evicted.length > 0) {
        this.events.emit({
          type: 'revoked',
          reason: 'limit-eviction',
          userId: record.userId,
          sessionIds: [...evicted],
          count: evicted.length,
        });
      }
      return { persisted: true, value: this.signed(work.token), replaced: replaces !== null };
    }
    if (work.changes.size > 0) {
      const delta = { set: {} as Record<string, string>, deleted: [] as string[] };
      for (const [key, stored] of work.changes) {
        if (stored === null) {
          delta.deleted.push(key);
        } else {
          delta.set[key] = stored;
        }
      }
      await failClosed(this.store.update(record.id, delta, touch, ttlMs, this.updateOptions));
      Object.assign(record, touch);
    } else if (now - record.lastSeenAt >= this.options.touchAfterMs) {
      await failClosed(this.store.touch(record.id, touch, ttlMs));
      Object.assign(record, touch);
    }
    return { persisted: true, value: work.reissue ? this.signed(work.token) : null };
  }

  async recordClient(record: SessionRecord): Promise<boolean> {
    if (record.client != null && this.store.setClient !== undefined) {
      await failClosed(this.store.setClient(record.id, record.client));
    }
    return false;
  }

  /** With token rotation, an id that was rotated out ends the session it was rotated into. */
  async end(ids: readonly string[]): Promise<void> {
    const { store } = this;
    const destroyRotated = this.rotation === null ? undefined : store.destroyRotated?.bind(store);
    const destroy = async (id: string): Promise<void> => {
      await (destroyRotated?.(id) ?? store.destroy(id));
    };
    await failClosed(Promise.all(ids.map(destroy)));
  }

  private writeOptions(
    userId: string | null,
    replaces: string | null,
    rotation: SessionRotation | undefined,
  ): SessionWriteOptions | undefined {
    const limit = userId === null ? undefined : this.options.sessionLimit;
    if (replaces === null) {
      return limit;
    }
    return rotation === undefined ? { ...limit, replaces } : { ...limit, replaces, rotation };
  }

  private signed(token: string | null): string | null {
    return token === null ? null : signToken(token, this.options.signingKeys[0]);
  }
}
