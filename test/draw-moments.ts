import assert from 'node:assert/strict';
import { relativeL2Error } from './helpers.js';

/**
 * The per-entry mean of `draws` draws of a vector (`draw(d)` for d = 0, 1, ...) and the standard
 * error of that mean (from the draws' population variance, 0 at the least).
 */
export function drawMoments(
  draws: number,
  draw: (d: number) => ArrayLike<number>,
): { mean: number[]; se: number[] } {
  let sum: Float64Array | undefined;
  let sq: Float64Array | undefined;
  for (let d = 0; d < draws; d++) {
    const v = draw(d);
    sum ??= new Float64Array(v.length);
    sq ??= new Float64Array(v.length);
    for (let i = 0; i < v.length; i++) {
      sum[i] += v[i];
      sq[i] += v[i] * v[i];
    }
  }
  const q = sq ?? new Float64Array(0);
  const mean = Array.from(sum ?? [], (s) => s / draws);
  const se = mean.map((m, i) => Math.sqrt(Math.max(0, q[i] / draws - m * m) / draws));
  return { mean, se };
}

/**
 * Asserts that the mean of the draws is `want`, entry by entry: within `zMax` standard errors
 * (each floored at 1e-6, for entries that do not vary).
 */
export function assertMeanIs(
  { mean, se }: { mean: number[]; se: number[] },
  want: ArrayLike<number>,
  zMax = 5,
): void {
  assert.equal(mean.length, want.length);
  for (let i = 0; i < want.length; i++) {
    const z = Math.abs(mean[i] - want[i]) / Math.max(se[i], 1e-6);
    assert.ok(z < zMax, `entry ${i}: mean ${mean[i]}, want ${want[i]}, se ${se[i]} (z ${z})`);
  }
}

/** Asserts that the mean of the draws is off `want` by more than `relative` of its L2 norm. */
export function assertMeanIsNot(
  mean: ArrayLike<number>,
  want: ArrayLike<number>,
  relative: number,
): void {
  const err = relativeL2Error(mean, want);
  assert.ok(err > relative, `relative error ${err}`);
}
