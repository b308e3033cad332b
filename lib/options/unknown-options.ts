/** Every key `SessionModule.forRoot()` knows, by where it appears. */
const KNOWN_KEYS = {
  '': [
    'secret',
    'store',
    'revocationStore',
    'transport',
    'csrf',
    'encryptAtRest',
    'cookie',
    'idleTimeout',
    'absoluteTimeout',
    'touchAfter',
    'socketCheckInterval',
    'allowInsecureCookies',
    'keepOnLogin',
    'maxDataSize',
    'maxSessions',
    'maxSessionsPerUser',
    'sessionLimitPolicy',
    'hijackSignals',
    'rotateEvery',
    'rotationGrace',
    'deviceBound',
  ],
  'cookie.': ['name', 'secure', 'httpOnly', 'sameSite', 'path', 'domain', 'persistent'],
  'csrf.': ['trustedOrigins', 'headerName', 'fieldName'],
  'hijackSignals.': ['policy', 'network'],
  'deviceBound.': [
    'registrationPath',
    'refreshPath',
    'cookieName',
    'cookieLifetime',
    'challengeLifetime',
    'policy',
  ],
} as const;

/**
 * Problems for option keys the module does not know: a mistyped security option (`idleTimout`)
 * must stop the boot, not be silently ignored. Each names the closest known key.
 */
export function unknownOptionProblems(options: object): string[] {
  const problems = unknownKeys(options, '');
  for (const nested of ['cookie', 'csrf', 'hijackSignals', 'deviceBound'] as const) {
    const value = (options as Record<string, unknown>)[nested];
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      problems.push(...unknownKeys(value, `${nested}.`));
    }
  }
  return problems;
}

function unknownKeys(value: object, prefix: keyof typeof KNOWN_KEYS): string[] {
  const known: readonly string[] = KNOWN_KEYS[prefix];
  return Object.keys(value)
    .filter((key) => !known.includes(key))
    .map((key) => {
      const closest = closestKey(key, known);
      const hint =
        closest === null
          ? `known options: ${known.join(', ')}`
          : `did you mean '${prefix}${closest}'?`;
      return `${prefix}${key} is not an option; ${hint}`;
    });
}

/** The known key within a small edit distance of `key`, if any. */
function closestKey(key: string, known: readonly string[]): string | null {
  let best: string | null = null;
  let bestDistance = Math.max(2, Math.floor(key.length / 4)) + 1;
  for (const candidate of known) {
    const distance = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** Levenshtein distance (insertions, deletions, substitutions). */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j] + 1, current[j - 1] + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length];
}
