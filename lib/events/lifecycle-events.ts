import type { SessionRecord } from '../interfaces/session-store.interface.js';
import type { SessionEvents } from './session-events.js';

/**
 * Why a request moved its session to a new id. A `'rotation'` (`rotateEvery`) is reported by
 * the token rotation itself, which knows both ids once the store has answered.
 */
export type MoveCause = 'login' | 'regenerate' | 'rotation';

/**
 * Reports a session saved for the first time under its id: `authenticated` for a login
 * (`previousSessionId`: the session it replaced, if the request had one), `regenerated` for a
 * `regenerate()` of a stored session, `created` for a new anonymous one.
 *
 * @internal
 */
export function reportSaved(
  events: SessionEvents,
  record: SessionRecord,
  cause: MoveCause | null,
  previousSessionId: string | null,
): void {
  const { id: sessionId, userId } = record;
  if (cause === 'login' && userId !== null) {
    events.emit({ type: 'authenticated', sessionId, userId, previousSessionId });
  } else if (cause === 'regenerate' && previousSessionId !== null) {
    events.emit({ type: 'regenerated', sessionId, previousSessionId, userId, cause: 'regenerate' });
  } else if (userId === null) {
    events.emit({ type: 'created', sessionId });
  }
}

/**
 * Reports sessions ended by the library's own request path or `SessionService`: `logout`
 * (`destroy()`), `revoke` (by id), `revoke-all` (`count` -1 when unknown: stateless).
 *
 * @internal
 */
export function reportEnded(
  events: SessionEvents,
  reason: 'logout' | 'revoke' | 'revoke-all',
  userId: string | null,
  sessionIds: readonly string[],
  count = sessionIds.length,
): void {
  events.emit({ type: 'revoked', reason, userId, sessionIds: [...sessionIds], count });
}
