import type { MoveCause } from '../events/lifecycle-events.js';

/**
 * The ids a request moved its session away from (login, regenerate): the latest is ended by
 * the store in the same atomic step as the save; any others are ended after it.
 */
export class SessionMoves {
  private readonly ids: string[] = [];
  /** The anonymous ones among them: stateless mode records no revocation for those. */
  readonly anonymous = new Set<string>();
  /** Why the session moved (a login outranks a regenerate), or `null` when it did not. */
  cause: MoveCause | null = null;

  /** Notes a move for `cause`, whether or not the session it leaves was stored. */
  moved(cause: MoveCause): void {
    this.cause = this.cause === 'login' ? 'login' : cause;
  }

  /** The first stored id moved away from: the session the request came with. */
  get first(): string | null {
    return this.ids[0] ?? null;
  }

  add(id: string, anonymous: boolean): void {
    this.ids.push(id);
    if (anonymous) {
      this.anonymous.add(id);
    }
  }

  /** The id the latest move replaces, or `null` when the session did not move. */
  get latest(): string | null {
    return this.ids.length > 0 ? this.ids[this.ids.length - 1] : null;
  }

  /** Every id moved away from, but `except` (one the store already ended). */
  all(except: string | null = null): string[] {
    return this.ids.filter((id) => id !== except);
  }

  clear(): void {
    this.ids.length = 0;
    this.anonymous.clear();
    this.cause = null;
  }
}
