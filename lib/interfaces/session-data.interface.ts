/**
 * The shape of session data. Empty by default; an application declares its keys by
 * declaration merging, and `session.get`/`session.set` are then typed:
 *
 * @example
 * ```ts
 * declare module 'nest-secure-session' {
 *   interface SessionData {
 *     cart: string[];
 *     theme: 'light' | 'dark';
 *   }
 * }
 * ```
 * `roles` is read by `@Roles()`.
 */
export interface SessionData {
  /** Roles checked by `@Roles()`. Set them at login: `login(user.id, { roles: ['admin'] })`. */
  roles?: string[];
}
