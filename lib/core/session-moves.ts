/**
 * The ids a request moved its session away from (login, regenerate): the latest is ended by
 * the store in the same atomic step as the save; any others are ended after it.
 */
export class SessionMoves {
  private readonly ids: string[] = [];
  /** The anonymous ones among them: stateless mode records no revocation for those. */
  readonly anonymous = new Set<string>();

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
  }
}
