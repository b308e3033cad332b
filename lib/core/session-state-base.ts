import { generateToken } from '../crypto/session-token.js';
import type { MoveCause } from '../events/lifecycle-events.js';
import type { SessionRecord } from '../interfaces/session-store.interface.js';
import type { TokenCarrier } from './carriers/token-carrier.js';
import { SessionContents } from './session-contents.js';
import type { SessionExchange } from './session-exchange.js';
import { SessionHandle } from './session-handle.js';
import { SessionMoves } from './session-moves.js';
import { newRecord } from './session-record.js';
import type { RotationStep } from './session-rotation.js';
import type { SessionRuntime } from './session-runtime.js';
import { SessionValues } from './session-values.js';

/**
 * What one request knows of its session, and the moves it makes on it in memory: the state
 * `SessionState` loads, changes and commits. Nothing here talks to a store.
 *
 * @internal
 */
export abstract class SessionStateBase extends SessionHandle {
  protected loading: Promise<void> | null = null;
  protected loaded = false;
  /** The load rejected (store failure, theft): the session is neither read nor anonymous. */
  protected loadFailed = false;
  /** The session and this request's changes; `null` while the visitor has none. */
  protected contents: SessionContents | null = null;
  protected token: string | null = null;
  /** Whether the session exists beyond this request (false for a new or moved session). */
  protected persisted = false;
  /** Whether the session was presented by this request (rather than created by it). */
  protected presented = false;
  protected carrier: TokenCarrier | null;
  /** The carrier the live session was presented in: cleared if the session ends in flight. */
  protected presentedBy: TokenCarrier | null = null;
  /** Ids this request moved away from (regenerate, login): ended at commit. */
  protected readonly moves = new SessionMoves();
  /** The client must be handed the session's value at commit. */
  protected reissue = false;
  /** This request's part in token rotation (`rotateEvery`); `null` when rotation is off. */
  protected readonly rotation: RotationStep | null;

  constructor(
    protected readonly runtime: SessionRuntime,
    protected readonly exchange: SessionExchange,
  ) {
    super();
    this.carrier = runtime.carrierFor(exchange);
    this.rotation = runtime.rotation?.step() ?? null;
  }

  /** Leaves this request with no session: nothing to save, nothing to end. */
  protected forget(): void {
    this.contents = null;
    this.token = null;
    this.persisted = false;
    this.presented = false;
    this.moves.clear();
    this.reissue = false;
    this.rotation?.clear();
  }

  protected loadedContents(): SessionContents | null {
    if (!this.loaded) {
      throw new Error(
        'The session is not loaded yet: take it with @Session() or `await sessionService.current()`',
      );
    }
    return this.contents;
  }

  protected ensureContents(): SessionContents {
    const contents = this.loadedContents();
    if (contents !== null) {
      return contents;
    }
    this.token = generateToken();
    const record = { ...this.blankRecord(this.runtime.now()), id: this.idOf(this.token) };
    this.contents = this.contentsOf(record);
    this.persisted = false;
    return this.contents;
  }

  protected blankRecord(now: number): SessionRecord {
    return newRecord(now, this.runtime.options, this.exchange.header('user-agent'));
  }

  protected idOf(token: string): string {
    return this.runtime.persistence.idOf(token);
  }

  /** The contents of `record` under the current token (whose key seals data at rest). */
  protected contentsOf(record: SessionRecord): SessionContents {
    const { persistence, options } = this.runtime;
    const values = new SessionValues(
      persistence.sealsValues ? options.keys.data : null,
      this.token,
    );
    return new SessionContents(record, values, options.maxDataSize);
  }

  /**
   * Puts the session under a fresh token and id, with `plainData` sealed anew for it; the old
   * id, if it exists beyond this request, is ended at commit.
   */
  protected moveTo(
    base: SessionRecord,
    plainData: ReadonlyMap<string, string>,
    cause: MoveCause,
  ): void {
    if (this.persisted && this.contents !== null) {
      this.moves.add(this.contents.record.id, this.contents.record.userId === null);
    }
    this.moves.moved(cause);
    this.token = generateToken();
    this.contents = this.contentsOf({ ...base, id: this.idOf(this.token), data: {} });
    this.contents.adopt(plainData);
    this.persisted = false;
    this.presented = false;
    this.reissue = true;
  }
}
