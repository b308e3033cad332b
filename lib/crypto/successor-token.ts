import { hkdfSync } from 'node:crypto';
import type { DerivedKey, Keyring } from './keyring.js';
import { open, seal, sealedKeyId } from './sealed-box.js';

/** HKDF info of the keys that seal a successor token: no other key is derived with it. */
const SUCCESSOR_INFO = 'rotation-successor';

/** The key a successor token is sealed under: HKDF of a master key and the replaced token. */
function successorKey(master: DerivedKey, replacedToken: string): DerivedKey {
  return {
    id: master.id,
    key: Buffer.from(hkdfSync('sha256', master.key, replacedToken, SUCCESSOR_INFO, 32)),
  };
}

/**
 * Seals the token a session was rotated to (AES-256-GCM, bound to the replaced id) under a key
 * derived from the master key and the REPLACED token: what the store keeps in the tombstone
 * opens only for a request that presents that old token (and only with the secret), so a
 * store dump yields no usable token.
 */
export function sealSuccessor(
  keys: Keyring,
  replacedId: string,
  replacedToken: string,
  successorToken: string,
): string {
  return seal(successorToken, successorKey(keys.primary, replacedToken), replacedId);
}

/** The successor token of a tombstone, or `null` when it does not open with this old token. */
export function openSuccessor(
  keys: Keyring,
  replacedId: string,
  replacedToken: string,
  sealed: string,
): string | null {
  const master = keys.find(sealedKeyId(sealed) ?? '');
  return master === undefined
    ? null
    : open(sealed, successorKey(master, replacedToken), replacedId);
}
