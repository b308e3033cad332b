// Small helpers shared by the stress phases: counters, percentiles, slopes, formatting.

/** Counts of status codes (or any keys). */
export class Tally {
  constructor() {
    this.counts = new Map();
    this.total = 0;
  }

  add(key, n = 1) {
    this.counts.set(key, (this.counts.get(key) ?? 0) + n);
    this.total += n;
  }

  get(key) {
    return this.counts.get(key) ?? 0;
  }

  /** `200×12 401×3`, keys sorted. */
  toString() {
    return [...this.counts.entries()]
      .sort(([a], [b]) => String(a).localeCompare(String(b)))
      .map(([key, n]) => `${key}×${n}`)
      .join(' ');
  }
}

export function median(values) {
  return quantile(values, 0.5);
}

export function quantile(values, q) {
  if (values.length === 0) {
    return NaN;
  }
  const sorted = [...values].sort((a, b) => a - b);
  const position = (sorted.length - 1) * q;
  const low = Math.floor(position);
  const high = Math.ceil(position);
  return sorted[low] + (sorted[high] - sorted[low]) * (position - low);
}

/** Least-squares slope of `y` over `x`. */
export function slope(points) {
  const n = points.length;
  if (n < 2) {
    return NaN;
  }
  const meanX = points.reduce((sum, [x]) => sum + x, 0) / n;
  const meanY = points.reduce((sum, [, y]) => sum + y, 0) / n;
  let numerator = 0;
  let denominator = 0;
  for (const [x, y] of points) {
    numerator += (x - meanX) * (y - meanY);
    denominator += (x - meanX) ** 2;
  }
  return denominator === 0 ? NaN : numerator / denominator;
}

export const MiB = 1024 * 1024;

export function mib(bytes, digits = 1) {
  return `${(bytes / MiB).toFixed(digits)} MiB`;
}

export function ms(value) {
  return `${Math.round(value)} ms`;
}

export function log(line = '') {
  process.stdout.write(`${line}\n`);
}

/** A left-aligned text table. */
export function table(rows) {
  const widths = [];
  for (const row of rows) {
    row.forEach((cell, index) => {
      widths[index] = Math.max(widths[index] ?? 0, String(cell).length);
    });
  }
  return rows
    .map((row) =>
      row
        .map((cell, index) => String(cell).padEnd(widths[index]))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
