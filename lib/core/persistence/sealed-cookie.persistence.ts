import { openRemembered, seal, sealedKeyId } from '../../crypto/sealed-box.js';
import type { SessionRecord, SessionStore } from '../../interfaces/session-store.interface.js';
import type { ResolvedSessionOptions } from '../../options/resolve-session-options.js';
import { recordRevocation, userNotBeforeId } from '../revocation.js';
import { decodeValue } from '../session-data.codec.js';
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
 * Stateless sessions (`store: 'cookie'`): the whole record sealed with AES-256-GCM in the
 * cookie. The store only remembers revocations (logouts, revoke-all) until the cookies they
 * concern expire. The session id is random and public: there is no token to protect.
 */
export class SealedCookiePersistence implements SessionPersistence {
  readonly sealsValues = false;

  constructor(
    private readonly revocations: SessionStore,
    private readonly options: ResolvedSessionOptions,
  ) {}

  idOf(token: string): string {
    return token;
  }

  async open(value: string, now: number): Promise<OpenedSession | null> {
    const { sealing } = this.options.keys;
    const key = sealing.find(sealedKeyId(value) ?? '');
    const json = key === undefined ? null : openRemembered(value, key, this.options.cookie.name);
    const record = json === null ? null : parseSealedRecord(json);
    if (record === null || isExpired(record, now)) {
      return null;
    }
    const [revoked, notBefore] = await failClosed(
      Promise.all([
        this.revocations.get(record.id),
        record.userId === null ? null : this.revocations.get(userNotBeforeId(record.userId)),
      ]),
    );
    if (revoked !== null || (notBefore !== null && notBefore.createdAt > record.createdAt)) {
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

  async end(ids: readonly string[], now: number): Promise<void> {
    const { absoluteTimeoutMs } = this.options;
    await failClosed(
      Promise.all(ids.map((id) => recordRevocation(this.revocations, id, now, absoluteTimeoutMs))),
    );
  }
}

const RECORD_NUMBER_FIELDS = ['createdAt', 'lastSeenAt', 'expiresAt', 'absoluteExpiresAt'] as const;

/** A session record from an opened sealed cookie, or `null` when its shape is wrong. */
function parseSealedRecord(json: string): SessionRecord | null {
  const parsed = decodeValue(json) as Partial<SessionRecord> | undefined;
  if (
    typeof parsed !== 'object' ||
    parsed === null ||
    typeof parsed.id !== 'string' ||
    (parsed.userId !== null && typeof parsed.userId !== 'string') ||
    typeof parsed.data !== 'object' ||
    parsed.data === null ||
    !Object.values(parsed.data).every((value) => typeof value === 'string') ||
    !RECORD_NUMBER_FIELDS.every((field) => typeof parsed[field] === 'number')
  ) {
    return null;
  }
  return {
    id: parsed.id,
    userId: parsed.userId ?? null,
    data: { ...parsed.data },
    createdAt: parsed.createdAt as number,
    lastSeenAt: parsed.lastSeenAt as number,
    authenticatedAt: typeof parsed.authenticatedAt === 'number' ? parsed.authenticatedAt : null,
    expiresAt: parsed.expiresAt as number,
    absoluteExpiresAt: parsed.absoluteExpiresAt as number,
    userAgent: typeof parsed.userAgent === 'string' ? parsed.userAgent : null,
  };
}
