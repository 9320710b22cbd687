/**
 * Paired differences over seeds (each seed gives the baseline and the method the same init,
 * batch order and schedule): mean, sample standard deviation, standard error and the two-sided
 * 95% Student-t interval of the mean, and how the interval sits against a target.
 */
import { mean, sd } from './stats.js';

/** Two-sided 95% quantiles t_{0.975, df} of Student's t for df = 1..10 (tables). */
const T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228];

/** t_{0.975, df}; df above 10 uses 2.0 + 2.4 / df (within 0.01 of the table up to df 30). */
export function tQuantile975(df: number): number {
  if (!(Number.isInteger(df) && df >= 1))
    throw new Error(`tQuantile975: df must be >= 1, got ${df}`);
  return df <= T975.length ? T975[df - 1] : 1.96 + 2.4 / df;
}

export interface PairedSummary {
  n: number;
  mean: number;
  sd: number;
  se: number;
  ci95: [number, number];
}

/** Mean, sd, SE and 95% t-interval of paired differences (needs 2 or more). */
export function pairedSummary(diffs: readonly number[]): PairedSummary {
  const n = diffs.length;
  if (n < 2) throw new Error(`pairedSummary: need 2 or more differences, got ${n}`);
  const m = mean(diffs);
  const s = sd(diffs);
  const se = s / Math.sqrt(n);
  const h = tQuantile975(n - 1) * se;
  return { n, mean: m, sd: s, se, ci95: [m - h, m + h] };
}

/**
 * Against a target "drop <= target": met or missed by the mean, and whether the 95% interval
 * decides it (entirely below or above the target) or straddles it.
 */
export function verdict(s: PairedSummary, target: number): string {
  const byMean = s.mean <= target ? 'met' : 'missed';
  if (s.ci95[1] <= target) return `${byMean}: the 95% interval lies below ${target}`;
  if (s.ci95[0] > target) return `${byMean}: the 95% interval lies above ${target}`;
  return `${byMean} by the mean, not decided: the 95% interval [${s.ci95[0].toFixed(2)}, ${s.ci95[1].toFixed(2)}] straddles ${target}`;
}
