/**
 * Stochastic pruning of small activation gradients (Ye et al., ECCV 2020). Per layer and step, a
 * threshold tau is set for a target prune rate p from a Gaussian model of the gradient g:
 *
 *   sigma = sqrt(pi / 2) * mean |g|      (for g ~ N(0, sigma^2), E|g| = sigma sqrt(2 / pi))
 *   tau   = sigma * Phi^-1((1 + p) / 2)  (so that P(|g| < tau) = p under the model)
 *
 * Every |g| < tau becomes sign(g) tau with probability |g| / tau, else 0, so E[out] = g exactly
 * (unbiased); values with |g| >= tau are kept. The zero fraction reached is below p: of the
 * fraction p below tau, a share E[|g| / tau ; |g| < tau] becomes +-tau instead of 0 (about 0.36
 * for a Gaussian at p = 0.9, so about 54% zeros). The mean-absolute-value estimator of sigma is
 * used because it is what the paper's Gaussian model needs; the plain mean |g| (without the
 * sqrt(pi/2) factor) underestimates sigma by 20% and gives a lower prune rate.
 */
import { At, check, number, object, oneOf } from '../config/index.js';
import type { Rng } from '../engine/random.js';

/** Stochastic pruning with target prune rate `p` in (0, 1). */
export interface StochPruneSpec {
  kind: 'stochastic';
  p: number;
}

const fields = object({ kind: oneOf(['stochastic'] as const), p: number({ min: 0 }) });

export const stochPruneCheck = check('{kind: "stochastic", p}', (v: unknown, at: At) => {
  const c = fields(v, at) as StochPruneSpec;
  if (!(c.p > 0 && c.p < 1))
    throw at
      .field('p')
      .error(`p must be in (0, 1), got ${c.p} (0 prunes nothing; 1 would prune every value)`);
  return c;
});

export function parseStochPrune(v: unknown, config = 'gradSparsity'): StochPruneSpec {
  return stochPruneCheck(v, new At(config));
}

/** The standard normal quantile Phi^-1(q), 0 < q < 1 (Acklam, relative error < 1.2e-9). */
export function normalQuantile(q: number): number {
  if (!(q > 0 && q < 1)) throw new RangeError(`normalQuantile: q must be in (0, 1), got ${q}`);
  const a = [
    -39.69683028665376, 220.9460984245205, -275.928510446969, 138.357751867269, -30.66479806614716,
    2.506628277459239,
  ];
  const b = [
    -54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972,
    -13.28068155288572,
  ];
  const c = [
    -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734,
    4.374664141464968, 2.938163982698783,
  ];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const lo = 0.02425;
  if (q < lo) {
    const t = Math.sqrt(-2 * Math.log(q));
    return (
      (((((c[0] * t + c[1]) * t + c[2]) * t + c[3]) * t + c[4]) * t + c[5]) /
      ((((d[0] * t + d[1]) * t + d[2]) * t + d[3]) * t + 1)
    );
  }
  if (q > 1 - lo) return -normalQuantile(1 - q);
  const t = q - 0.5;
  const r = t * t;
  return (
    ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * t) /
    (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
  );
}

/** tau for prune rate p under the Gaussian model: sqrt(pi/2) mean|g| Phi^-1((1+p)/2). */
export function stochPruneThreshold(values: ArrayLike<number>, p: number): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += Math.abs(values[i]);
  const sigma = values.length > 0 ? Math.sqrt(Math.PI / 2) * (s / values.length) : 0;
  return sigma * normalQuantile((1 + p) / 2);
}

export interface StochPruneResult {
  values: Float32Array;
  tau: number;
  /** Entries that came out 0 (including those that were 0 already). */
  zeros: number;
}

/** Stochastic pruning of `values` at prune rate p: one draw per value below tau. */
export function stochPrune(values: ArrayLike<number>, p: number, rng: Rng): StochPruneResult {
  const tau = stochPruneThreshold(values, p);
  const out = new Float32Array(values.length);
  let zeros = 0;
  for (let i = 0; i < values.length; i++) {
    const g = values[i];
    const a = Math.abs(g);
    if (a >= tau) out[i] = g;
    else if (a > 0 && rng() * tau < a) out[i] = g > 0 ? tau : -tau;
    if (out[i] === 0) zeros++;
  }
  return { values: out, tau, zeros };
}
