/** Summary statistics the benchmarks share. */
import { makeRng } from '../../src/engine/random.js';

/** The median: the middle value, or the mean of the two middle values for an even count. */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * The upper median: the middle value, or the larger of the two middle values for an even count
 * (no averaging). The timing benchmarks that report it (act-memory, lowrank, per-sample-bits,
 * remat, transformer-peak) have always used it; `median` would change their committed figures.
 */
export function upperMedian(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  return [...xs].sort((a, b) => a - b)[xs.length >> 1];
}

/** The arithmetic mean (NaN for no values). */
export function mean(xs: readonly number[]): number {
  return xs.length === 0 ? Number.NaN : xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** The q-quantile (0 <= q <= 1) by linear interpolation between order statistics. */
export function quantile(xs: readonly number[], q: number): number {
  if (!(q >= 0 && q <= 1)) throw new Error(`quantile: q must be in [0, 1], got ${q}`);
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const at = q * (s.length - 1);
  const lo = Math.floor(at);
  return lo === at ? s[lo] : s[lo] + (s[lo + 1] - s[lo]) * (at - lo);
}

/** Median and spread of a sample: quartiles and extremes. */
export interface Spread {
  median: number;
  q1: number;
  q3: number;
  min: number;
  max: number;
  n: number;
}

export function spreadOf(xs: readonly number[]): Spread {
  return {
    median: median(xs),
    q1: quantile(xs, 0.25),
    q3: quantile(xs, 0.75),
    min: quantile(xs, 0),
    max: quantile(xs, 1),
    n: xs.length,
  };
}

/** Per-round paired ratios minus one: `method[r] / baseline[r] - 1` (the overhead of each round). */
export function pairedOverheads(method: readonly number[], baseline: readonly number[]): number[] {
  if (method.length !== baseline.length)
    throw new Error(`pairedOverheads: ${method.length} method rounds, ${baseline.length} baseline`);
  return method.map((m, r) => m / baseline[r] - 1);
}

/** The sample standard deviation (n - 1; 0 for one value, NaN for none). */
export function sd(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  if (xs.length === 1) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
}

/**
 * A percentile bootstrap confidence interval of the median of `xs`: the `level` central range of
 * the medians of `resamples` resamples with replacement, drawn by a seeded generator (the same
 * interval for the same sample on every run). NaNs for no values.
 */
export function bootstrapMedianCi(
  xs: readonly number[],
  options: { level?: number; resamples?: number; seed?: number } = {},
): { lo: number; hi: number } {
  const { level = 0.95, resamples = 2000, seed = 1 } = options;
  if (!(level > 0 && level < 1))
    throw new Error(`bootstrapMedianCi: level must be in (0, 1), got ${level}`);
  if (!(Number.isInteger(resamples) && resamples >= 1))
    throw new Error(`bootstrapMedianCi: resamples must be a positive integer, got ${resamples}`);
  if (xs.length === 0) return { lo: Number.NaN, hi: Number.NaN };
  // frugal's seeded generator (mulberry32), enough for resampling indices.
  const next = makeRng(seed);
  const medians: number[] = [];
  const pick = new Array<number>(xs.length);
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < xs.length; i++) pick[i] = xs[Math.floor(next() * xs.length)];
    medians.push(median(pick));
  }
  return { lo: quantile(medians, (1 - level) / 2), hi: quantile(medians, (1 + level) / 2) };
}
