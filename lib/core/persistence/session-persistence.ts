import type { SessionRecord, SessionRotation } from '../../interfaces/session-store.interface.js';

/** A session opened from the value a request presented. */
export interface OpenedSession {
  readonly record: SessionRecord;
  /** The session token (server-side sessions); `null` where the value is the session itself. */
  readonly token: string | null;
  /** The value was made under an older secret: hand the client a new one. */
  readonly stale: boolean;
}

/** What one request leaves to save. */
export interface SessionWork {
  readonly record: SessionRecord;
  readonly token: string | null;
  /** The record is not persisted yet (new, or moved to a new token by login/regenerate). */
  readonly isNew: boolean;
  /** Data keys changed since load: new stored value, or `null` when deleted. */
  readonly changes: ReadonlyMap<string, string | null>;
  /** The client must get a new value even if nothing else changed. */
  readonly reissue: boolean;
  /**
   * The persisted session this one moves away from (login from a live session, regenerate), or
   * `null`. A persistence that can end it atomically with the save says so in `replaced`.
   */
  readonly replaces: string | null;
  /** With `replaces`: the move is a token rotation, which leaves this tombstone for it. */
  readonly rotation?: SessionRotation;
  readonly now: number;
}

/** What a save did. */
export interface SaveResult {
  /** Whether the session now exists beyond this request. */
  readonly persisted: boolean;
  /** The value to hand the client, or `null` when the one it holds stays right. */
  readonly value: string | null;
  /** `work.replaces` was ended in the same atomic step as the save (else the core ends it after). */
  readonly replaced?: boolean;
}

/**
 * Where sessions live between requests: server-side in a `SessionStore`, or sealed in the
 * cookie itself (stateless). The core asks it to open, save and end sessions and never asks
 * which one it is.
 */
export interface SessionPersistence {
  /** Whether data values are sealed per session before the store sees them (encryption at rest). */
  readonly sealsValues: boolean;
  /** The public id of a session with this token. */
  idOf(token: string): string;
  /**
   * The live session a presented value names, or `null` (forged, expired, revoked). `renewable`
   * (default `true`) says whether this exchange can hand the client a new value: where it
   * cannot (a WebSocket message, `fromHeaders`), a rotated-out token opens nothing and is never
   * taken for theft (see `TokenRotation`).
   */
  open(value: string, now: number, renewable?: boolean): Promise<OpenedSession | null>;
  /**
   * Saves what a request changed, in one round trip where there is anything to save. Rejects
   * with `SessionRevokedError` when the session (or the one it replaces) ended meanwhile.
   */
  save(work: SessionWork): Promise<SaveResult>;
  /**
   * Ends sessions by public id, so that no value naming them works again. `anonymous` names
   * those of `ids` that never had a user: a persistence may skip what it records only to refuse
   * them (stateless revocations), never what it keeps of them (a server-side record).
   */
  end(ids: readonly string[], now: number, anonymous?: ReadonlySet<string>): Promise<void>;
  /**
   * Keeps the `client` fingerprint of a live session as it now is (hijack signals). Resolves
   * `true` when the client must be handed a new value for it (a sealed cookie), `false` when
   * it was stored. Rejects with `SessionRevokedError` when the session ended meanwhile.
   */
  recordClient(record: SessionRecord): Promise<boolean>;
}
