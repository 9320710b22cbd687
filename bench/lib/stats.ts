/** Summary statistics the benchmarks share. */

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

/** The sample standard deviation (n - 1; 0 for one value, NaN for none). */
export function sd(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  if (xs.length === 1) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
}
