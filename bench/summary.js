// Medians of the raw runs, and the ratios the report, the chart and the targets share.
import { VARIANTS, variantNamed } from './variants.js';

export function median(values) {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) {
    return NaN;
  }
  const sorted = [...finite].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Medians of one variant on one route and Node line; `void` when any of its runs was. */
export function summarize(runs = []) {
  const voids = runs.filter((run) => run.void);
  return {
    rounds: runs.length,
    void: runs.length === 0 || voids.length > 0,
    voidReason: voids
      .map((run) =>
        Object.entries(run.statusCodes)
          .filter(([code]) => !code.startsWith('2'))
          .map(([code, count]) => `${count}×${code}`)
          .concat(run.errors ? [`${run.errors} errors`] : [])
          .concat(run.timeouts ? [`${run.timeouts} timeouts`] : [])
          .join(' '),
      )
      .join('; '),
    cpu: median(runs.map((run) => run.cpuUsPerRequest)),
    rps: median(runs.map((run) => run.rps)),
    p50: median(runs.map((run) => run.p50)),
    p99: median(runs.map((run) => run.p99)),
    redisCpu: median(runs.map((run) => run.redisCpuUsPerRequest)),
    cpuEach: runs.map((run) => (run.void ? NaN : run.cpuUsPerRequest)),
  };
}

/** `table[line][route][variant]`: the summary of every measured cell. */
export function summaries(results) {
  const table = {};
  for (const [line, routes] of Object.entries(results.runs)) {
    table[line] = {};
    for (const [route, variants] of Object.entries(routes)) {
      table[line][route] = {};
      for (const [variant, runs] of Object.entries(variants)) {
        table[line][route][variant] = summarize(runs);
      }
    }
  }
  return table;
}

const usable = (s) => s !== undefined && !s.void && Number.isFinite(s.cpu) && s.cpu > 0;

/**
 * CPU per request as a throughput-equivalent ratio: `reference.cpu / variant.cpu`, i.e. how many
 * of the variant's requests fit in the CPU of one of the reference's (1.00 = as cheap).
 */
export function cpuRatio(variant, reference) {
  return usable(variant) && usable(reference) ? reference.cpu / variant.cpu : NaN;
}

/** The variant's ratio to its bare app (bare ÷ variant) on one route of one line. */
export function bareRatio(routeTable, name) {
  const bare = variantNamed(name)?.bare;
  return bare === undefined ? NaN : cpuRatio(routeTable?.[name], routeTable?.[bare]);
}

/**
 * The variants of one platform, in report order; the BENCH_BASELINE ones (base-*) only with
 * `{ baseline: true }`, each right after the variant it mirrors.
 */
export function platformVariants(platform, { baseline = false } = {}) {
  const current = VARIANTS.filter((v) => v.platform === platform && v.baseline === undefined);
  if (!baseline) {
    return current;
  }
  return current.flatMap((variant) => [
    variant,
    ...VARIANTS.filter((v) => v.baseline === variant.name),
  ]);
}

export const fmt = (value, digits = 2) => (Number.isFinite(value) ? value.toFixed(digits) : '–');
