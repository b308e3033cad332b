const BROWSERS: readonly [string, RegExp][] = [
  ['Edge', /\bEdg(?:e|A|iOS)?\//],
  ['Opera', /\bOPR\//],
  ['Samsung Internet', /\bSamsungBrowser\//],
  ['Firefox', /\b(?:Firefox|FxiOS)\//],
  ['Chrome', /\b(?:HeadlessChrome|Chrome|CriOS)\//],
  ['Safari', /\bVersion\/[\d.]+.*\bSafari\//],
];

const SYSTEMS: readonly [string, RegExp][] = [
  ['iOS', /\b(?:iPhone|iPad|iPod)\b/],
  ['Android', /\bAndroid\b/],
  ['ChromeOS', /\bCrOS\b/],
  ['Windows', /\bWindows\b/],
  ['macOS', /\bMac OS X\b|\bMacintosh\b/],
  ['Linux', /\bLinux\b|\bX11\b/],
];

/** A product token worth showing: "curl", "node", "okhttp". */
const PRODUCT = /^[A-Za-z][\w.-]{0,31}$/;

function firstMatch(userAgent: string, patterns: readonly [string, RegExp][]): string | null {
  return patterns.find(([, pattern]) => pattern.test(userAgent))?.[0] ?? null;
}

/** Whether the user agent is a phone or tablet's, for the icon next to the label. */
export function isMobile(userAgent: string | null): boolean {
  return userAgent !== null && /\b(?:Mobile|iPhone|iPad|iPod|Android)\b/.test(userAgent);
}

/**
 * A short human label for a user agent, such as "Chrome on Linux" or "Safari on iOS". A few
 * patterns cover the browsers people use; anything else is named by its first product token
 * when that looks like a name ("curl"), else "Unknown device". Plain text: escape it anyway.
 */
export function deviceLabel(userAgent: string | null): string {
  if (userAgent === null || userAgent.trim() === '') {
    return 'Unknown device';
  }
  const browser = firstMatch(userAgent, BROWSERS);
  const system = firstMatch(userAgent, SYSTEMS);
  if (browser !== null || system !== null) {
    return `${browser ?? 'A browser'} on ${system ?? 'an unknown system'}`;
  }
  const product = userAgent.trim().split(/[\s/]/, 1)[0];
  return PRODUCT.test(product) ? product : 'Unknown device';
}
