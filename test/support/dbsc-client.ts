import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { parseItem, parseList, type InnerList } from 'structured-headers';

/** What a test client puts in a proof's JOSE header besides `jwk`. */
export interface ProofHeader {
  alg?: string;
  typ?: string;
  [extra: string]: unknown;
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A DBSC client's key pair (P-256, made with node:crypto), signing proofs as a browser does. */
export class DeviceKey {
  readonly privateKey: KeyObject;
  readonly publicJwk: Record<string, string>;

  constructor() {
    const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    this.privateKey = pair.privateKey;
    this.publicJwk = pair.publicKey.export({ format: 'jwk' }) as Record<string, string>;
  }

  /** A registration proof: `{"alg":"ES256","typ":"dbsc+jwt","jwk":…}`, `{"jti":challenge}`. */
  registration(challenge: string, header: ProofHeader = {}): string {
    return this.sign(
      { alg: 'ES256', typ: 'dbsc+jwt', jwk: this.publicJwk, ...header },
      { jti: challenge },
    );
  }

  /** A refresh proof: no `jwk`, signed by this key. */
  refresh(challenge: string, header: ProofHeader = {}): string {
    return this.sign({ alg: 'ES256', typ: 'dbsc+jwt', ...header }, { jti: challenge });
  }

  /** Signs any header and payload with ES256 (r ‖ s), whatever `alg` the header claims. */
  sign(header: object, payload: object): string {
    const input = `${b64(header)}.${b64(payload)}`;
    const signature = sign('sha256', Buffer.from(input), {
      key: this.privateKey,
      dsaEncoding: 'ieee-p1363',
    });
    return `${input}.${signature.toString('base64url')}`;
  }
}

/** `path` and `challenge` of a `Secure-Session-Registration` header, and the algorithms offered. */
export function parseRegistration(header: string): {
  algorithms: string[];
  path: string;
  challenge: string;
} {
  const [entry] = parseList(header) as InnerList[];
  const [items, params] = entry;
  return {
    algorithms: items.map(([value]) => String(value)),
    path: String(params.get('path')),
    challenge: String(params.get('challenge')),
  };
}

/** The challenge and session identifier of a `Secure-Session-Challenge` header. */
export function parseChallenge(header: string): { challenge: string; id: string } {
  const [value, params] = parseItem(header);
  return { challenge: String(value), id: String(params.get('id')) };
}
