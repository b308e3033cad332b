import { createHmac } from 'node:crypto';
import { deriveKey, type KeyPurpose } from './session-token.js';

const KEY_ID_BYTES = 6;

/** A derived key and its public id (a MAC of a constant, so the id reveals nothing of the key). */
export interface DerivedKey {
  readonly id: string;
  readonly key: Buffer;
}

/**
 * The keys of one purpose, HKDF-SHA-256-derived from each configured secret. The first (from
 * the first secret) is primary: it signs and seals; all of them verify and open. A key id found
 * in a token can only select one of these — an unknown id opens nothing.
 */
export class Keyring {
  readonly keys: readonly DerivedKey[];
  private readonly byId: ReadonlyMap<string, DerivedKey>;

  constructor(secrets: readonly string[], purpose: KeyPurpose) {
    this.keys = secrets.map((secret) => {
      const key = deriveKey(secret, purpose);
      const id = createHmac('sha256', key)
        .update('key-id')
        .digest()
        .subarray(0, KEY_ID_BYTES)
        .toString('base64url');
      return { id, key };
    });
    this.byId = new Map(this.keys.map((derived) => [derived.id, derived]));
  }

  /** The key that signs and seals. */
  get primary(): DerivedKey {
    return this.keys[0];
  }

  /** The configured key with this id, if any. */
  find(id: string): DerivedKey | undefined {
    return this.byId.get(id);
  }
}
