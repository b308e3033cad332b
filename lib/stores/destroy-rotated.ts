import type { SessionStore } from '../interfaces/session-store.interface.js';

/**
 * `store.destroyRotated(id)`, or a plain `destroy(id)` (resolving to no ids) for a store without
 * token rotation: what every store wrapper forwards.
 *
 * @internal
 */
export async function destroyRotatedIn(store: SessionStore, id: string): Promise<string[]> {
  if (store.destroyRotated === undefined) {
    await store.destroy(id);
    return [];
  }
  return store.destroyRotated(id);
}
