import { createPublicKey, verify, type JsonWebKey, type KeyObject } from 'node:crypto';

/** Why a `Secure-Session-Response` proof was refused. Never carries the proof itself. */
export type DeviceProofFailure =
  /** Not a compact JWS of JSON objects, or over the size limit. */
  | 'malformed'
  /** `alg` other than `ES256` (`none`, `HS256`, `RS256`…), or `typ` other than `dbsc+jwt`. */
  | 'unsupported'
  /** Registration: `jwk` missing, not a P-256 public key, or carrying a private part. */
  | 'bad-key'
  /** The signature does not verify under the key. */
  | 'bad-signature';

/** A refused proof, with the reason (for tests and the library's decisions; not for clients). */
export class DeviceProofError extends Error {
  constructor(readonly reason: DeviceProofFailure) {
    super(`The device-bound session proof was refused (${reason})`);
    this.name = 'DeviceProofError';
  }
}

/** A P-256 public key as the session record keeps it: only its public coordinates. */
export interface DevicePublicJwk {
  readonly kty: 'EC';
  readonly crv: 'P-256';
  readonly x: string;
  readonly y: string;
}

/** A proof whose shape is right, before its signature is checked. */
export interface DeviceProof {
  /** The `jwk` header (registration), or `null` (refresh). */
  readonly jwk: DevicePublicJwk | null;
  /** The `jti` claim: the challenge the proof answers. */
  readonly challenge: string;
  /** What the signature covers: `<header>.<payload>` as sent. */
  readonly signingInput: string;
  /** The raw 64-byte ES256 signature (r ‖ s). */
  readonly signature: Buffer;
}

/** Largest proof accepted: a P-256 JWT with a JWK is about 500 bytes. */
const MAX_PROOF_LENGTH = 4096;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
const COORDINATE = /^[A-Za-z0-9_-]{43}$/;
const ES256_SIGNATURE_BYTES = 64;

/**
 * Parses a DBSC proof (`Secure-Session-Response`): a compact JWS whose header is
 * `{"alg":"ES256","typ":"dbsc+jwt"[,"jwk":{…}]}` and whose payload has the challenge in `jti`.
 * Only ES256 is accepted, whatever the header says, so no algorithm confusion (`none`, an HMAC
 * keyed with the public key, RSA) can reach verification. Throws `DeviceProofError`.
 */
export function parseDeviceProof(value: string | undefined): DeviceProof {
  if (typeof value !== 'string' || value.length > MAX_PROOF_LENGTH) {
    throw new DeviceProofError('malformed');
  }
  const parts = value.trim().split('.');
  if (parts.length !== 3 || !parts.every((part) => BASE64URL.test(part))) {
    throw new DeviceProofError('malformed');
  }
  const header = jsonObject(parts[0]);
  const payload = jsonObject(parts[1]);
  if (header.alg !== 'ES256' || header.typ !== 'dbsc+jwt' || header.crit !== undefined) {
    throw new DeviceProofError('unsupported');
  }
  if (typeof payload.jti !== 'string' || payload.jti === '') {
    throw new DeviceProofError('malformed');
  }
  const signature = Buffer.from(parts[2], 'base64url');
  if (signature.length !== ES256_SIGNATURE_BYTES) {
    throw new DeviceProofError('bad-signature');
  }
  return {
    jwk: header.jwk === undefined ? null : publicJwkOf(header.jwk),
    challenge: payload.jti,
    signingInput: `${parts[0]}.${parts[1]}`,
    signature,
  };
}

/**
 * The P-256 public key of a JWK, keeping only `kty`, `crv`, `x` and `y`. Refuses any other key
 * type or curve, and a JWK with a private part (`d`): a browser never sends one. Node checks that
 * the point is on the curve. Throws `DeviceProofError('bad-key')`.
 */
export function publicJwkOf(jwk: unknown): DevicePublicJwk {
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) {
    throw new DeviceProofError('bad-key');
  }
  const { kty, crv, x, y, d } = jwk as Record<string, unknown>;
  if (
    kty !== 'EC' ||
    crv !== 'P-256' ||
    d !== undefined ||
    typeof x !== 'string' ||
    typeof y !== 'string' ||
    !COORDINATE.test(x) ||
    !COORDINATE.test(y)
  ) {
    throw new DeviceProofError('bad-key');
  }
  const publicJwk: DevicePublicJwk = { kty, crv, x, y };
  keyObjectOf(publicJwk);
  return publicJwk;
}

/** The key object of a P-256 public JWK; throws `DeviceProofError('bad-key')` if Node refuses it. */
export function keyObjectOf(jwk: DevicePublicJwk): KeyObject {
  try {
    const key = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
    if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
      throw new DeviceProofError('bad-key');
    }
    return key;
  } catch {
    throw new DeviceProofError('bad-key');
  }
}

/** Checks the proof's ES256 signature under `jwk`; throws `DeviceProofError('bad-signature')`. */
export function verifyDeviceProof(proof: DeviceProof, jwk: DevicePublicJwk): void {
  const valid = verify(
    'sha256',
    Buffer.from(proof.signingInput),
    { key: keyObjectOf(jwk), dsaEncoding: 'ieee-p1363' },
    proof.signature,
  );
  if (!valid) {
    throw new DeviceProofError('bad-signature');
  }
}

function jsonObject(part: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    throw new DeviceProofError('malformed');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new DeviceProofError('malformed');
  }
  return value as Record<string, unknown>;
}
