import { openRemembered, seal, sealedKeyId } from '../../crypto/sealed-box.js';
import type { SessionEvents } from '../../events/session-events.js';
import type { RevocationStore } from '../../interfaces/revocation-store.interface.js';
import type { ResolvedSessionOptions } from '../../options/resolve-session-options.js';
import { revocationUntil } from '../revocation.js';
import { isExpired, touchAt } from '../session-record.js';
import { failClosed } from '../session.errors.js';
import { fitsConfiguration, parseSealedRecord } from './sealed-record.js';
import type {
  OpenedSession,
  SaveResult,
  SessionPersistence,
  SessionWork,
} from './session-persistence.js';

const NOTHING_SAVED: SaveResult = { persisted: false, value: null };

/**
 * Stateless sessions (`store: 'cookie'`): the whole record sealed with AES-256-GCM in the
 * cookie. The revocation store only remembers logouts and revoke-alls until the cookies they
 * concern expire. The session id is random and public: there is no token to protect.
 */
export class SealedCookiePersistence implements SessionPersistence {
  readonly sealsValues = false;

  constructor(
    private readonly revocations: RevocationStore,
    private readonly options: ResolvedSessionOptions,
    private readonly events: SessionEvents,
  ) {}

  idOf(token: string): string {
    return token;
  }

  async open(value: string, now: number): Promise<OpenedSession | null> {
    const { sealing } = this.options.keys;
    const key = sealing.find(sealedKeyId(value) ?? '');
    const json = key === undefined ? null : openRemembered(value, key, this.options.cookie.name);
    const record = json === null ? null : parseSealedRecord(json);
    if (record === null || !fitsConfiguration(record, now, this.options)) {
      return null;
    }
    if (isExpired(record, now)) {
      // An authentic cookie, past its time: its browser kept it (or it was copied).
      const { id: sessionId, userId } = record;
      this.events.emit({ type: 'expired', sessionId, userId, source: 'seen' });
      return null;
    }
    if (await failClosed(this.revocations.isRevoked(record, now))) {
      return null;
    }
    return { record, token: null, stale: key !== sealing.primary };
  }

  save(work: SessionWork): Promise<SaveResult> {
    const { record, now } = work;
    if (work.isNew && record.userId === null && Object.keys(record.data).length === 0) {
      return Promise.resolve(NOTHING_SAVED);
    }
    const due = now - record.lastSeenAt >= this.options.touchAfterMs;
    if (!work.isNew && work.changes.size === 0 && !work.reissue && !due) {
      return Promise.resolve({ persisted: true, value: null });
    }
    Object.assign(record, touchAt(now, record, this.options.idleTimeoutMs));
    const { cookie, keys } = this.options;
    const value = seal(JSON.stringify(record), keys.sealing.primary, cookie.name);
    return Promise.resolve({ persisted: true, value });
  }

  /** The fingerprint travels in the cookie: re-sealed on this response. */
  recordClient(): Promise<boolean> {
    return Promise.resolve(true);
  }

  /**
   * Records a revocation for each authenticated id. Anonymous ones are skipped: such a session
   * grants nothing (no user, so every guard refuses it, and login always moves to a new id), its
   * cookie is cleared on the response, and a copy of it only shows the anonymous data its holder
   * could already read. Recording them would let anyone fill the revocation store for free.
   */
  async end(ids: readonly string[], now: number, anonymous?: ReadonlySet<string>): Promise<void> {
    const until = revocationUntil(now, this.options.absoluteTimeoutMs);
    const revoked = ids.filter((id) => anonymous?.has(id) !== true);
    if (revoked.length > 0) {
      await failClosed(Promise.all(revoked.map((id) => this.revocations.revoke(id, until, now))));
    }
  }
}
