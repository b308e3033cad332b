import { reportEnded, reportSaved } from '../events/lifecycle-events.js';
import type { SessionData } from '../interfaces/session-data.interface.js';
import type { SessionTransport } from '../interfaces/session-module-options.interface.js';
import { clientAtLogin, inspectClient } from './hijack-signals.js';
import { loginCarrier, userIdOf } from './login-carrier.js';
import type { SessionContents } from './session-contents.js';
import { PRIVATE_NO_STORE } from './session-exchange.js';
import { carryChanges } from './session-rotation.js';
import { SessionAccess } from './session-state-access.js';
import { SessionRevokedError, SessionTheftDetectedError } from './session.errors.js';
import type { SaveResult } from './persistence/session-persistence.js';

/** How `login()` hands the new session to the client. */
export interface LoginOptions {
  /** `'cookie'` (default) sets the session cookie; `'header'` sets none: read `bearerToken`. */
  transport?: SessionTransport;
}

/**
 * One request's session, whatever the platform: loaded lazily, changed in memory, saved once
 * before the response is sent. The request path is one line:
 * adapter binds → carrier reads → persistence opens → handler → persistence saves → carrier
 * writes → adapter sends. Nothing here runs for a request that never touches its session.
 * Its state and in-memory moves are `SessionStateBase`'s, the handle's accessors
 * `SessionAccess`'s; this class is the lifecycle: load, login, logout, commit.
 */
export class SessionState extends SessionAccess {
  /** Loads the session once; later calls share the first load. Rejects with `503` on store failure. */
  load(): Promise<void> {
    if (this.loading === null) {
      this.exchange.commitBeforeSend(() => this.commit());
      this.loading = this.open();
    }
    return this.loading;
  }

  async regenerate(): Promise<void> {
    await this.load();
    const contents = this.ensureContents();
    // A new id by request, unlike a rotation: the CSRF token is renewed with it.
    const record = { ...contents.record, originId: undefined };
    this.moveTo(record, contents.plainData(Object.keys(contents.record.data)), 'regenerate');
  }

  /**
   * Starts an authenticated session for `userId` under a new token (fixation defence): the old
   * session is ended at commit and only `keepOnLogin` keys of its data carry over. A numeric id
   * is kept as its decimal string (`session.userId` is always a string).
   */
  async login(
    userId: string | number,
    data: Partial<SessionData> = {},
    options: LoginOptions = {},
  ): Promise<void> {
    const id = userIdOf(userId);
    const carrier = loginCarrier(this.runtime, this.exchange, options);
    if (carrier === this.carrier) {
      await this.load();
    } else {
      // A login for another carrier (a token for an API client, from a request that came with
      // the cookie) neither reads nor ends the session the request presented: it is another
      // client's, and ending it here would let a forged request log its owner out.
      this.detachPresented();
    }
    const kept = this.contents?.plainData(this.runtime.options.keepOnLogin) ?? new Map();
    const now = this.runtime.now();
    this.carrier = carrier;
    const client = clientAtLogin(this.runtime, this.exchange);
    this.moveTo(
      { ...this.blankRecord(now), userId: id, authenticatedAt: now, client },
      kept,
      'login',
    );
    for (const [key, value] of Object.entries(data)) {
      this.set(key as keyof SessionData, value as SessionData[keyof SessionData]);
    }
  }

  async destroy(): Promise<void> {
    await this.load();
    if (this.persisted && this.contents !== null) {
      this.moves.add(this.contents.record.id, this.contents.record.userId === null);
    }
    const ended = this.moves.all();
    await this.runtime.persistence.end(ended, this.runtime.now(), this.moves.anonymous);
    if (ended.length > 0) {
      reportEnded(this.runtime.events, 'logout', this.contents?.record.userId ?? null, ended);
    }
    this.forget();
    this.carrier?.clear(this.exchange);
  }

  /**
   * Saves what this request changed, in one store call, and hands the client its value. A
   * session that nothing touched costs nothing; one that changed nothing is only touched, at
   * most every `touchAfter`.
   */
  async commit(): Promise<void> {
    if (this.loading === null) {
      return;
    }
    await this.loading;
    const { persistence } = this.runtime;
    const now = this.runtime.now();
    this.rotateIfDue(now);
    let value: string | null = null;
    let endedByStore: string | null = null;
    let firstSave = false;
    if (this.contents !== null) {
      // A move (login, regenerate, rotation) replaces one persisted session: the store ends it
      // in the same atomic step as the save, and refuses the save if it has ended already.
      const replaces = this.moves.latest;
      const wasPersisted = this.persisted;
      const saved = await this.ifStillLive(() => this.save(now));
      firstSave = saved.persisted && !wasPersisted;
      value = saved.value;
      if (saved.replaced === true) {
        endedByStore = replaces;
      }
    }
    const contents = this.contents;
    const obsolete = this.moves.all(endedByStore);
    if (obsolete.length > 0) {
      await persistence.end(obsolete, now, this.moves.anonymous);
    }
    if (firstSave && contents !== null) {
      reportSaved(this.runtime.events, contents.record, this.moves.cause, this.moves.first);
    }
    this.moves.clear();
    if (contents?.record.userId != null) {
      // The response was made for a logged-in user: no shared or browser cache may keep it.
      this.exchange.setHeader('cache-control', PRIVATE_NO_STORE);
    }
    if (value !== null && contents !== null && this.carrier !== null) {
      const left = Math.floor((contents.record.absoluteExpiresAt - now) / 1000);
      this.carrier.write(this.exchange, value, Math.max(0, left), this.presented);
      if (this.carrier.transport === 'cookie') {
        this.runtime.devices?.offer(contents.record, this.exchange);
      }
    }
    this.reissue = false;
  }

  /**
   * The save's result; when the session ended while this request was in flight
   * (`SessionRevokedError`), the request is left with no session: nothing to hand out, the
   * presented cookie cleared, and the error (`401`) rethrown to answer the request.
   */
  private async ifStillLive(save: () => Promise<SaveResult>): Promise<SaveResult> {
    try {
      return await save();
    } catch (error) {
      if (error instanceof SessionRevokedError && (await this.followRotation())) {
        return this.ifStillLive(save);
      }
      if (error instanceof SessionRevokedError) {
        this.forget();
        this.presentedBy?.clear(this.exchange);
      }
      throw error;
    }
  }

  /** One store call for the contents (and the pending move or rotation). */
  private async save(now: number): Promise<SaveResult> {
    const contents = this.contents as SessionContents;
    const saved = await this.runtime.persistence.save({
      record: contents.record,
      token: this.token,
      isNew: !this.persisted,
      changes: contents.changes,
      reissue: this.reissue,
      replaces: this.moves.latest,
      rotation: this.rotation?.tombstone,
      now,
    });
    this.persisted = saved.persisted;
    contents.changes.clear();
    this.rotation?.saved(contents.record);
    return saved;
  }

  /**
   * `rotateEvery`: moves a signed-in session whose token is due to a new token (same record,
   * data sealed anew), on a response that can set the cookie. Bearer tokens are not rotated.
   */
  private rotateIfDue(now: number): void {
    const { contents, token, rotation } = this;
    const due =
      rotation !== null &&
      contents !== null &&
      token !== null &&
      this.persisted &&
      this.moves.latest === null &&
      this.carrier?.transport === 'cookie' &&
      this.exchange.respondable &&
      rotation.isDue(contents.record, now);
    if (due) {
      const { record } = contents;
      const rotated = { ...record, rotatedAt: now, originId: record.originId ?? record.id };
      this.moveTo(rotated, contents.plainData(Object.keys(record.data)), 'rotation');
      rotation.begin(contents, token, this.token as string, now);
    }
  }

  /**
   * The save found the session gone because a concurrent request rotated its token (this
   * request's own rotation lost the race, or its update met the tombstone): in the grace window,
   * once, carry this request's changes over to the successor and retry.
   */
  private async followRotation(): Promise<boolean> {
    const presented = this.persisted && this.moves.latest === null ? this.contents : null;
    const successor = await this.rotation?.follow(presented, this.token, this.runtime.now());
    if (successor == null) {
      return false;
    }
    this.moves.clear();
    this.token = successor.token;
    this.contents = this.contentsOf(successor.record);
    carryChanges(successor.from, this.contents);
    this.persisted = true;
    this.presented = true;
    this.reissue = true;
    return true;
  }

  /** carrier reads → persistence opens. */
  private async open(): Promise<void> {
    try {
      const presented = this.carrier?.read(this.exchange) ?? { kind: 'absent' };
      if (presented.kind === 'absent') {
        return;
      }
      const opened =
        presented.kind === 'value'
          ? await this.runtime.persistence.open(
              presented.value,
              this.runtime.now(),
              this.exchange.respondable,
            )
          : null;
      const verdict = opened && (await inspectClient(this.runtime, this.exchange, opened.record));
      if (opened === null || verdict === 'ended') {
        this.carrier?.clear(this.exchange);
        return;
      }
      if (this.runtime.devices?.admits(opened.record, this.exchange) === false) {
        // A device-bound session without its bound cookie: unusable here, but the cookie stays
        // (the device gets a fresh bound cookie from the refresh endpoint and retries).
        return;
      }
      this.token = opened.token;
      this.contents = this.contentsOf(opened.record);
      this.persisted = true;
      this.presented = true;
      this.presentedBy = this.carrier;
      this.reissue = opened.stale || verdict === 'reseal';
      if (this.runtime.options.keys.data.keys.length > 1) {
        this.contents.resealStale();
      }
    } catch (error) {
      this.loadFailed = true;
      if (error instanceof SessionTheftDetectedError) {
        this.carrier?.clear(this.exchange);
      }
      throw error;
    } finally {
      this.loaded = true;
    }
  }

  /** Forgets the presented session without reading or ending it; the state counts as loaded. */
  private detachPresented(): void {
    if (this.loading === null) {
      this.exchange.commitBeforeSend(() => this.commit());
      this.loading = Promise.resolve();
      this.loaded = true;
    }
    this.forget();
  }
}
