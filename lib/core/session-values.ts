import { hkdfSync } from 'node:crypto';
import type { DerivedKey, Keyring } from '../crypto/keyring.js';
import { open, seal, sealedKeyId } from '../crypto/sealed-box.js';

/**
 * How one session's data values are kept in the store: their JSON as is, or — encryption at
 * rest — sealed with AES-256-GCM under a key of the session's own (HKDF of a master key and the
 * session token). The store never sees the token, so a store dump cannot be opened even with
 * the secret. Each value is bound to its session id and key (associated data).
 */
export class SessionValues {
  private readonly dataKeys = new Map<string, DerivedKey>();

  /** `keys` is `null` when values are stored plain. */
  constructor(
    private readonly keys: Keyring | null,
    private readonly token: string | null,
  ) {}

  /** What the store keeps for `json`, the value under `key` of session `id`. */
  stored(id: string, key: string, json: string): string {
    if (this.keys === null) {
      return json;
    }
    return seal(json, this.dataKey(this.keys.primary), `${id}/${key}`);
  }

  /** The JSON of a stored value, or `null` if it does not open (tampered, moved, unknown key). */
  plain(id: string, key: string, stored: string): string | null {
    if (this.keys === null) {
      return stored;
    }
    const master = this.keys.find(sealedKeyId(stored) ?? '');
    return master === undefined ? null : open(stored, this.dataKey(master), `${id}/${key}`);
  }

  /** Whether a stored value was sealed under an older master key (after a secret rotation). */
  isStale(stored: string): boolean {
    return this.keys !== null && sealedKeyId(stored) !== this.keys.primary.id;
  }

  private dataKey(master: DerivedKey): DerivedKey {
    let key = this.dataKeys.get(master.id);
    if (key === undefined) {
      const derived = hkdfSync('sha256', master.key, this.token ?? '', 'session-data', 32);
      key = { id: master.id, key: Buffer.from(derived) };
      this.dataKeys.set(master.id, key);
    }
    return key;
  }
}
