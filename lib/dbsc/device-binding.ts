import { randomBytes } from 'node:crypto';
import { publicJwkOf, type DevicePublicJwk } from './device-proof.js';

/** What a session record keeps of its device (`SessionRecord.deviceBinding`, as JSON). */
export interface DeviceBinding {
  /** The DBSC `session_identifier`: random, stable across the session's moves to new ids. */
  readonly id: string;
  /** The device's public key. */
  readonly key: DevicePublicJwk;
  /** When the newest challenge a proof answered was issued: older ones are used up. */
  readonly used: number;
}

const BINDING_ID = /^[A-Za-z0-9_-]{22}$/;

/** A new binding of `key`, its challenge (issued at `used`) consumed. */
export function newBinding(key: DevicePublicJwk, used: number): DeviceBinding {
  return { id: randomBytes(16).toString('base64url'), key, used };
}

/** The stored form of a binding. */
export function encodeBinding(binding: DeviceBinding): string {
  const { id, key, used } = binding;
  return JSON.stringify({
    v: 1,
    id,
    key: { kty: key.kty, crv: key.crv, x: key.x, y: key.y },
    used,
  });
}

/**
 * Only the binding id of a stored binding (what every request checks its bound cookie against),
 * without building its key; `'corrupt'` when it cannot be read, `null` when there is none.
 */
export function bindingIdOf(stored: string | null | undefined): string | null | 'corrupt' {
  if (stored === null || stored === undefined) {
    return null;
  }
  try {
    const id = (JSON.parse(stored) as { id?: unknown }).id;
    return typeof id === 'string' && BINDING_ID.test(id) ? id : 'corrupt';
  } catch {
    return 'corrupt';
  }
}

/**
 * The binding a record keeps, or `null` when it has none. A stored value that cannot be read
 * is returned as `'corrupt'`: the caller must refuse the session, never treat it as unbound.
 */
export function decodeBinding(stored: string | null | undefined): DeviceBinding | null | 'corrupt' {
  if (stored === null || stored === undefined) {
    return null;
  }
  try {
    const value = JSON.parse(stored) as Record<string, unknown>;
    if (
      value.v !== 1 ||
      typeof value.id !== 'string' ||
      !BINDING_ID.test(value.id) ||
      typeof value.used !== 'number' ||
      !Number.isFinite(value.used)
    ) {
      return 'corrupt';
    }
    return { id: value.id, key: publicJwkOf(value.key), used: value.used };
  } catch {
    return 'corrupt';
  }
}
