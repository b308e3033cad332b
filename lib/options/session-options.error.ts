/**
 * Thrown at start-up when `SessionModule` options are wrong. `problems` lists each wrong option
 * with the fix; no secret value ever appears in it.
 */
export class SessionOptionsError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(
      `Invalid SessionModule options:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`,
    );
    this.name = 'SessionOptionsError';
  }
}
