import type { SessionStore } from '../interfaces/session-store.interface.js';

/** Revocation-store id of the "not before" time of a user's stateless sessions. */
export function userNotBeforeId(userId: string): string {
  return `not-before:${userId}`;
}

/**
 * Stateless mode: records that `id` is refused from `now` on, for as long as any cookie naming
 * it could still be valid (the absolute timeout). The entry's `createdAt` is the revocation time.
 */
export function recordRevocation(
  store: SessionStore,
  id: string,
  now: number,
  absoluteTimeoutMs: number,
): Promise<void> {
  const expiresAt = now + absoluteTimeoutMs;
  return store.set(
    {
      id,
      userId: null,
      data: {},
      createdAt: now,
      lastSeenAt: now,
      authenticatedAt: null,
      expiresAt,
      absoluteExpiresAt: expiresAt,
      userAgent: null,
    },
    absoluteTimeoutMs,
  );
}
