import { createHmac, timingSafeEqual } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import type { Keyring } from '../crypto/keyring.js';
import type { ClientFingerprint } from '../interfaces/session-store.interface.js';

/**
 * The coarse client fingerprint of hijack signals: a browser family and major version from the
 * `User-Agent`, and a keyed hash of the client's network. Coarse on purpose: it must stay the
 * same for one user's browser from request to request, and only tell apart a cookie replayed
 * from elsewhere.
 *
 * @internal
 */

/**
 * Families recognised, most specific first: browsers built on Chromium name `Chrome/` too, and
 * every iOS browser names `Safari/`. Anything else (bots, HTTP libraries, rare browsers) has no
 * family: it is never compared, so it never raises a signal.
 */
const FAMILIES: ReadonlyArray<readonly [family: string, pattern: RegExp]> = [
  ['edge', /\bEdg(?:e|A|iOS)?\/(\d+)/],
  ['opera', /\b(?:OPR|OPiOS|OPT)\/(\d+)/],
  ['samsung', /\bSamsungBrowser\/(\d+)/],
  ['firefox', /\b(?:Firefox|FxiOS)\/(\d+)/],
  ['chrome', /\b(?:HeadlessChrome|Chrome|CriOS|Chromium)\/(\d+)/],
  ['safari', /\bVersion\/(\d+)(?:\.\d+)*(?: Mobile\/\w+)? Safari\//],
];

/** Longest `User-Agent` looked at: enough for every real browser, bounded work for the regexes. */
const MAX_USER_AGENT = 512;

/** `'<family>/<major>'` (e.g. `'chrome/131'`), or `null` for an agent that is not a known browser. */
export function agentOf(userAgent: string | undefined): string | null {
  if (userAgent === undefined) {
    return null;
  }
  const text = userAgent.slice(0, MAX_USER_AGENT);
  for (const [family, pattern] of FAMILIES) {
    const major = pattern.exec(text)?.[1];
    if (major !== undefined) {
      return `${family}/${Number(major)}`;
    }
  }
  return null;
}

/**
 * The network of an address: the IPv4 /24 (`'v4:203.0.113'`) or the IPv6 /64
 * (`'v6:2001:db8:0:1'`); an IPv4-mapped IPv6 address counts as IPv4. `null` for anything else.
 */
export function networkOf(address: string | undefined): string | null {
  if (address === undefined) {
    return null;
  }
  const bare = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(bare)?.[1];
  const v4 = mapped ?? bare;
  if (isIPv4(v4)) {
    return `v4:${v4.split('.').slice(0, 3).join('.')}`;
  }
  if (!isIPv6(bare) || bare.includes('.')) {
    return null; // An IPv6 address with an embedded IPv4 tail other than ::ffff: is not a client's.
  }
  const [head, tail = ''] = bare.toLowerCase().split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === '' ? [] : tail.split(':');
  const groups = bare.includes('::')
    ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right]
    : left;
  return `v6:${groups
    .slice(0, 4)
    .map((group) => parseInt(group, 16).toString(16))
    .join(':')}`;
}

const NETWORK_HASH_BYTES = 16;

/** The keyed hash stored for a network (HMAC-SHA-256 under the primary key, 128 bits, base64url). */
export function networkHash(network: string, keys: Keyring): string {
  return hashWith(network, keys.primary.key).toString('base64url');
}

/** Whether `stored` is the hash of `network` under any configured key (secrets rotate). */
export function sameNetwork(stored: string, network: string, keys: Keyring): boolean {
  const expected = Buffer.from(stored, 'base64url');
  if (expected.length !== NETWORK_HASH_BYTES) {
    return false;
  }
  return keys.keys.some(({ key }) => timingSafeEqual(hashWith(network, key), expected));
}

function hashWith(network: string, key: Buffer): Buffer {
  return createHmac('sha256', key).update(network).digest().subarray(0, NETWORK_HASH_BYTES);
}

/** A fingerprint read back from storage, or `null` when its shape is wrong (nothing compared). */
export function asClientFingerprint(value: unknown): ClientFingerprint | null {
  if (typeof value !== 'object' || value === null) {
    return null;
  }
  const { agent, network, stepUp } = value as Partial<Record<string, unknown>>;
  const textOrNull = (field: unknown) => field === null || typeof field === 'string';
  return textOrNull(agent) && textOrNull(network) && typeof stepUp === 'boolean'
    ? { agent: agent as string | null, network: network as string | null, stepUp }
    : null;
}
