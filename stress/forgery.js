// Generators of malformed and forged credentials for the fuzz phase. Each category makes one
// request's worth of headers from a seeded random source and the victims' valid credentials.
// No generator ever yields a victim's valid credential unchanged in a single well-formed
// header: every request it makes is one no server may authenticate.
import { createCipheriv, createHmac, hkdfSync } from 'node:crypto';

const HKDF_SALT = 'nest-secure-session/v1';
const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
/** cookie-octet of RFC 6265 (printable ASCII but space, `"`, `,`, `;`, `\`). */
const COOKIE_OCTETS = [...Array(0x7f - 0x21).keys()]
  .map((i) => String.fromCharCode(0x21 + i))
  .filter((c) => !'",;\\'.includes(c))
  .join('');
/** Bytes HTTP forbids in a field value (all controls but HTAB, and DEL). */
const FORBIDDEN_BYTES = [...Array(0x20).keys()].filter((b) => b !== 0x09).concat([0x7f]);

/** A small seeded PRNG (mulberry32), so that a run's requests can be made again. */
export function random(seed) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n) => Math.floor(next() * n);
  return {
    next,
    int,
    pick: (list) => list[int(list.length)],
    chance: (p) => next() < p,
    string: (alphabet, length) => {
      let out = '';
      for (let i = 0; i < length; i++) {
        out += alphabet[int(alphabet.length)];
      }
      return out;
    },
    bytes: (length) => {
      const out = Buffer.alloc(length);
      for (let i = 0; i < length; i++) {
        out[i] = int(256);
      }
      return out;
    },
  };
}

/** The library's key derivation (HKDF-SHA-256 of a secret, per purpose), for forgeries. */
export function deriveKey(secret, purpose) {
  return Buffer.from(hkdfSync('sha256', secret, HKDF_SALT, purpose, 32));
}

export function keyIdOf(key) {
  return createHmac('sha256', key).update('key-id').digest().subarray(0, 6).toString('base64url');
}

export function signToken(token, key) {
  return `${token}.${createHmac('sha256', key).update(token).digest('base64url')}`;
}

/** The library's sealed-value format under any key: `<keyId>.<iv>.<ciphertext>.<tag>`. */
export function seal(plaintext, key, keyId, context) {
  const iv = Buffer.alloc(12);
  createHmac('sha256', key).update(plaintext).digest().copy(iv, 0, 0, 12);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: 16 });
  cipher.setAAD(Buffer.from(context));
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return [keyId, iv, ciphertext, cipher.getAuthTag()]
    .map((part) => (typeof part === 'string' ? part : part.toString('base64url')))
    .join('.');
}

/** `value` with one bit of one character flipped, kept printable (no controls, no DEL). */
function flipCharBit(rng, value) {
  for (;;) {
    const index = rng.int(value.length);
    const code = value.charCodeAt(index) ^ (1 << rng.int(7));
    if (code > 0x20 && code < 0x7f) {
      return value.slice(0, index) + String.fromCharCode(code) + value.slice(index + 1);
    }
  }
}

/** `value` (dot-separated base64url parts) with one bit of one decoded byte flipped, re-encoded. */
function flipByteBit(rng, value) {
  const parts = value.split('.');
  const candidates = parts.map((part, i) => i).filter((i) => parts[i].length >= 2);
  const index = rng.pick(candidates);
  const bytes = Buffer.from(parts[index], 'base64url');
  if (bytes.length === 0) {
    return flipCharBit(rng, value);
  }
  bytes[rng.int(bytes.length)] ^= 1 << rng.int(8);
  parts[index] = bytes.toString('base64url');
  return parts.join('.');
}

function truncate(rng, value) {
  switch (rng.int(3)) {
    case 0:
      return value.slice(0, rng.int(value.length)); // a prefix (may be empty)
    case 1:
      return value.slice(1 + rng.int(value.length - 1)); // a suffix
    default: {
      const index = rng.int(value.length);
      return value.slice(0, index) + value.slice(index + 1); // one character gone
    }
  }
}

/**
 * A different spelling of the same base64url bytes: the last character of an unpadded
 * base64url string of 32 bytes carries 2 unused bits; setting one decodes to the same bytes.
 */
function nonCanonical(rng, part) {
  const last = BASE64URL.indexOf(part[part.length - 1]);
  const spelled = BASE64URL[(last & ~0b11) | (1 + rng.int(3))];
  return part.slice(0, -1) + spelled;
}

/**
 * The categories. Each is `{ name, modes, make(rng, ctx) }`, `make` returning
 * `{ cookies?: string[] | Buffer[], authorization?: (string | Buffer)[] }`: each entry one
 * header line. `ctx` has the target's victims (`victims.cookies`, `victims.bearers`,
 * `revoked.cookies`, `revoked.bearers`), `cookieName`, `wrongKeys`, `sealing`.
 */
export const CATEGORIES = [
  {
    name: 'cookie: random bytes and strings',
    modes: ['server-side', 'stateless'],
    make(rng, { cookieName }) {
      const shape = rng.int(5);
      let value;
      if (shape === 0) {
        value = `${rng.string(BASE64URL, 43)}.${rng.string(BASE64URL, 43)}`; // the right shape
      } else if (shape === 1) {
        value = rng.string(BASE64URL, 1 + rng.int(300));
      } else if (shape === 2) {
        value = rng.string(COOKIE_OCTETS, 1 + rng.int(300));
      } else if (shape === 3) {
        // Sealed shape: key id, iv, ciphertext, tag of the right lengths, random content.
        value = [8, 16, 20 + rng.int(400), 22].map((n) => rng.string(BASE64URL, n)).join('.');
      } else {
        // Raw bytes, obs-text included (HTTP allows 0x80-0xFF in a field value).
        const bytes = rng
          .bytes(1 + rng.int(200))
          .map((b) => (b < 0x21 || b === 0x7f || b === 0x3b ? 0x41 : b));
        return { cookies: [Buffer.concat([Buffer.from(`${cookieName}=`), bytes])] };
      }
      return { cookies: [`${cookieName}=${value}`] };
    },
  },
  {
    name: 'cookie: truncated valid token',
    modes: ['server-side'],
    make: (rng, { cookieName, victims }) => ({
      cookies: [`${cookieName}=${truncate(rng, rng.pick(victims.cookies))}`],
    }),
  },
  {
    name: 'cookie: bit-flipped valid token',
    modes: ['server-side'],
    make(rng, { cookieName, victims }) {
      const valid = rng.pick(victims.cookies);
      const flipped = rng.chance(0.5) ? flipCharBit(rng, valid) : flipByteBit(rng, valid);
      return { cookies: [`${cookieName}=${flipped}`] };
    },
  },
  {
    name: 'cookie: wrong key, spliced, non-canonical',
    modes: ['server-side'],
    make(rng, { cookieName, victims, wrongKeys }) {
      const valid = rng.pick(victims.cookies);
      const [token, signature] = valid.split('.');
      const other = rng.pick(victims.cookies.filter((cookie) => cookie !== valid));
      let value;
      switch (rng.int(4)) {
        case 0:
          value = signToken(token, rng.pick(wrongKeys)); // the victim's token, another key
          break;
        case 1:
          value = signToken(rng.string(BASE64URL, 42) + 'A', rng.pick(wrongKeys));
          break;
        case 2:
          value = `${token}.${other.split('.')[1]}`; // one session's token, another's signature
          break;
        default:
          value = `${token}.${nonCanonical(rng, signature)}`; // same signature bytes, other spelling
      }
      return { cookies: [`${cookieName}=${value}`] };
    },
  },
  {
    name: 'cookie: sealed, truncated',
    modes: ['stateless'],
    make: (rng, { cookieName, victims }) => ({
      cookies: [`${cookieName}=${truncate(rng, rng.pick(victims.cookies))}`],
    }),
  },
  {
    name: 'cookie: sealed, bit-flipped',
    modes: ['stateless'],
    make(rng, { cookieName, victims }) {
      const valid = rng.pick(victims.cookies);
      const flipped = rng.chance(0.5) ? flipCharBit(rng, valid) : flipByteBit(rng, valid);
      return { cookies: [`${cookieName}=${flipped}`] };
    },
  },
  {
    name: 'cookie: sealed, wrong key or spliced',
    modes: ['stateless'],
    make(rng, { cookieName, victims, wrongKeys, sealing }) {
      const valid = rng.pick(victims.cookies);
      const parts = valid.split('.');
      const other = rng.pick(victims.cookies.filter((cookie) => cookie !== valid)).split('.');
      let value;
      switch (rng.int(6)) {
        case 0: {
          // A record a configuration never issues (item 6 of issue 9), under a wrong key that
          // claims the real key id.
          const now = Date.now();
          const record = {
            id: rng.string(BASE64URL, 43),
            userId: rng.pick(['1', '2']),
            data: { roles: JSON.stringify(['user', 'admin']) },
            createdAt: now,
            lastSeenAt: now,
            authenticatedAt: now,
            expiresAt: now + 3_600_000 * 24 * 365,
            absoluteExpiresAt: now + 3_600_000 * 24 * 365,
            userAgent: null,
          };
          value = seal(JSON.stringify(record), rng.pick(wrongKeys), sealing.keyId, cookieName);
          break;
        }
        case 1:
          value = [rng.string(BASE64URL, 8), ...parts.slice(1)].join('.'); // unknown key id
          break;
        case 2: {
          const index = 1 + rng.int(3); // iv, ciphertext or tag of another session
          const spliced = [...parts];
          spliced[index] = other[index];
          value = spliced.join('.');
          break;
        }
        case 3:
          value = [parts[0], parts[1], '', parts[3]].join('.'); // no ciphertext
          break;
        case 4:
          value = rng.chance(0.5) ? `${valid}.${parts[3]}` : parts.slice(0, 3).join('.'); // parts ±1
          break;
        default: {
          const spelled = [...parts]; // same iv bytes, non-canonical last character
          spelled[3] = nonCanonical(rng, parts[3]);
          value = spelled.join('.');
        }
      }
      return { cookies: [`${cookieName}=${value}`] };
    },
  },
  {
    name: 'cookie: replayed after logout/revocation',
    modes: ['server-side', 'stateless'],
    make: (rng, { cookieName, revoked }) => ({
      cookies: [`${cookieName}=${rng.pick(revoked.cookies)}`],
    }),
  },
  {
    name: 'cookie: huge values, many cookies',
    modes: ['server-side', 'stateless'],
    make(rng, { cookieName, victims }) {
      const valid = rng.pick(victims.cookies);
      switch (rng.int(5)) {
        case 0: // just past the 4 KiB a browser keeps, valid token first
          return {
            cookies: [`${cookieName}=${valid}${rng.string(BASE64URL, 4097 - valid.length)}`],
          };
        case 1: // 4 KiB to 15 KiB of junk (below Node's 16 KiB header limit)
          return {
            cookies: [`${cookieName}=${rng.string(COOKIE_OCTETS, 4096 + rng.int(11_000))}`],
          };
        case 2: // over Node's 16 KiB header limit: 431 from the HTTP server
          return { cookies: [`${cookieName}=${rng.string(BASE64URL, 16_384 + rng.int(50_000))}`] };
        case 3: {
          // hundreds of other cookies around a forged one
          const others = Array.from(
            { length: 50 + rng.int(400) },
            (_, i) => `c${i}=${rng.string(BASE64URL, 8)}`,
          );
          others.splice(rng.int(others.length), 0, `${cookieName}=${flipByteBit(rng, valid)}`);
          return { cookies: [others.join('; ')] };
        }
        default: // thousands of separators
          return {
            cookies: [`${';'.repeat(1 + rng.int(4000))}${cookieName}=${truncate(rng, valid)}`],
          };
      }
    },
  },
  {
    name: 'cookie: duplicated session cookie',
    modes: ['server-side', 'stateless'],
    make(rng, { cookieName, victims }) {
      const valid = rng.pick(victims.cookies);
      const other = rng.pick(victims.cookies);
      const junk = rng.string(BASE64URL, 1 + rng.int(90));
      const pairs = rng.pick([
        [valid, other], // two valid sessions (cookie tossing)
        [valid, junk],
        [junk, valid],
        [valid, ''],
        [valid, valid],
      ]);
      const first = `${cookieName}=${pairs[0]}`;
      const second = `${rng.pick([cookieName, ` ${cookieName} `, `${cookieName} `])}=${pairs[1]}`;
      if (rng.chance(0.5)) {
        return { cookies: [`${first}; ${second}`] };
      }
      return { cookies: [first, second] }; // two Cookie header lines (the server joins them)
    },
  },
  {
    name: 'cookie: other names, control characters HTTP allows',
    modes: ['server-side', 'stateless'],
    make(rng, { cookieName, victims }) {
      const valid = rng.pick(victims.cookies);
      // Inside the token, never at its ends: whitespace around a cookie value is not part of it.
      const at = 1 + rng.int(valid.length - 1);
      switch (rng.int(5)) {
        case 0: // the valid token under another cookie name (names are case-sensitive)
          return {
            cookies: [
              `${rng.pick([cookieName.toLowerCase(), cookieName.toUpperCase(), 'sid', '__Secure-sid', `${cookieName}x`, `x${cookieName}`])}=${valid}`,
            ],
          };
        case 1: // a horizontal tab inside the token
          return { cookies: [`${cookieName}=${valid.slice(0, at)}\t${valid.slice(at)}`] };
        case 2: // obs-text bytes inside the token
          return {
            cookies: [
              Buffer.concat([
                Buffer.from(`${cookieName}=${valid.slice(0, at)}`),
                rng.bytes(1 + rng.int(8)).map((b) => 0x80 | b),
                Buffer.from(valid.slice(at)),
              ]),
            ],
          };
        case 3: // percent-escapes that do not decode to the token
          return {
            cookies: [
              `${cookieName}=${valid.slice(0, at)}${rng.pick(['%00', '%0A', '%ZZ', '%', '%E2%80', '%C0%AE', '%3B'])}${valid.slice(at)}`,
            ],
          };
        default: // quotes and escapes around a forged token
          return {
            cookies: [
              `${cookieName}="${flipByteBit(rng, valid)}"${rng.pick(['', '"', '\\', '\\"'])}`,
            ],
          };
      }
    },
  },
  {
    name: 'control characters HTTP forbids (parser must refuse)',
    modes: ['server-side', 'stateless'],
    make(rng, { cookieName, victims }) {
      const valid = rng.pick(victims.cookies);
      const at = rng.int(valid.length);
      const bad = Buffer.from([rng.pick(FORBIDDEN_BYTES)]);
      const value = Buffer.concat([
        Buffer.from(valid.slice(0, at)),
        bad,
        Buffer.from(valid.slice(at)),
      ]);
      if (rng.chance(0.5)) {
        return { cookies: [Buffer.concat([Buffer.from(`${cookieName}=`), value])] };
      }
      const bearer = victims.bearers.length > 0 ? rng.pick(victims.bearers) : valid;
      const b = Buffer.from(bearer);
      const cut = rng.int(b.length);
      return {
        authorization: [
          Buffer.concat([Buffer.from('Bearer '), b.subarray(0, cut), bad, b.subarray(cut)]),
        ],
      };
    },
  },
  {
    name: 'Authorization: Bearer junk',
    modes: ['server-side', 'stateless'],
    make(rng) {
      switch (rng.int(6)) {
        case 0:
          return {
            authorization: [`Bearer ${rng.string(BASE64URL, 43)}.${rng.string(BASE64URL, 43)}`],
          };
        case 1:
          return { authorization: [`Bearer ${rng.string(COOKIE_OCTETS, 1 + rng.int(200))}`] };
        case 2:
          return {
            authorization: [
              rng.pick([
                'Bearer',
                'Bearer ',
                'Bearer  ',
                'Bearer\t',
                'bearer',
                'BEARER ',
                'Bearer .',
                'Bearer ..',
                'Bearer a.b.c',
              ]),
            ],
          };
        case 3: // over the 4096 characters a bearer token may have
          return { authorization: [`Bearer ${rng.string(BASE64URL, 4097 + rng.int(8000))}`] };
        case 4:
          return {
            authorization: [
              Buffer.concat([
                Buffer.from('Bearer '),
                rng.bytes(1 + rng.int(100)).map((b) => 0x80 | b),
              ]),
            ],
          };
        default: // two Authorization headers, both junk
          return {
            authorization: [
              `Bearer ${rng.string(BASE64URL, 87)}`,
              `Bearer ${rng.string(BASE64URL, 87)}`,
            ],
          };
      }
    },
  },
  {
    name: 'Authorization: Bearer truncated/bit-flipped/wrong key',
    modes: ['server-side'],
    make(rng, { victims, wrongKeys }) {
      const valid = rng.pick(victims.bearers);
      const [token, signature] = valid.split('.');
      let value;
      switch (rng.int(5)) {
        case 0:
          value = truncate(rng, valid);
          break;
        case 1:
          value = flipCharBit(rng, valid);
          break;
        case 2:
          value = flipByteBit(rng, valid);
          break;
        case 3:
          value = signToken(token, rng.pick(wrongKeys));
          break;
        default:
          value = `${token}.${nonCanonical(rng, signature)}`;
      }
      return { authorization: [`Bearer ${value}`] };
    },
  },
  {
    name: 'Authorization: other schemes (some carrying valid tokens)',
    modes: ['server-side', 'stateless'],
    make(rng, { victims }) {
      const valid = rng.pick(victims.bearers.length > 0 ? victims.bearers : victims.cookies);
      const basic = (user, password) => Buffer.from(`${user}:${password}`).toString('base64');
      return {
        authorization: [
          rng.pick([
            `Basic ${basic('alice', 'alice-password')}`,
            `Basic ${basic('admin', 'admin-password')}`,
            `Basic ${rng.string(BASE64URL, 24)}`,
            `Negotiate ${rng.string(BASE64URL, 64)}`,
            `NTLM ${rng.string(BASE64URL, 40)}`,
            `Digest username="admin", realm="x", nonce="${rng.string(BASE64URL, 16)}", response="${rng.string(BASE64URL, 32)}"`,
            `Token ${valid}`,
            `Bearer:${valid}`,
            `Bearer-${valid}`,
            `Bearer,${valid}`,
            `Basic ${valid}`,
            `DPoP ${valid}`,
            `MAC ${valid}`,
            valid,
            '',
          ]),
        ],
      };
    },
  },
  {
    name: 'Authorization: Bearer replayed after revocation',
    modes: ['server-side'],
    make: (rng, { revoked }) => ({ authorization: [`Bearer ${rng.pick(revoked.bearers)}`] }),
  },
];
