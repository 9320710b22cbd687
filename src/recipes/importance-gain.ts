// How much an importance sampler can lower the variance of a minibatch gradient, from per-sample
// gradients (Katharopoulos & Fleuret 2018; Zhao & Zhang 2015). Rows drawn with probability
// p_i = a_i / n (weights a of mean 1), each gradient scaled by 1 / a_i, give an unbiased estimate
// of the mean gradient gbar with per-draw covariance trace
//   V(a) = mean_i(|g_i|^2 / a_i) - |gbar|^2,
// uniform sampling (a = 1) gives V(1) = mean_i |g_i|^2 - |gbar|^2, and the least V is at
// a_i = |g_i| / mean |g| (Cauchy-Schwarz): V* = (mean |g|)^2 - |gbar|^2. A sampler with weights a
// has the variance of a uniform batch V(1) / V(a) times larger, so at best it saves what that
// larger batch saves in steps (never more than the factor itself, less past the critical batch
// size); its steps cost the same as uniform steps. SwiftLearn's weighted draw is such a sampler
// (swiftlearn.ts), so these ratios cap the step savings any of its scores can give.

/** Mean of |g_i|^2 / a_i minus |gbar|^2 (a of mean 1; a = undefined for uniform). */
export function samplingVariance(
  gradSq: ArrayLike<number>,
  meanGradSq: number,
  a?: ArrayLike<number>,
): number {
  const n = gradSq.length;
  if (n === 0) throw new Error('samplingVariance: no gradients');
  if (a && a.length !== n)
    throw new Error(`samplingVariance: ${a.length} weights for ${n} gradients`);
  let m = 0;
  for (let i = 0; i < n; i++) {
    const w = a ? a[i] : 1;
    if (!(w > 0)) throw new Error(`samplingVariance: weight ${i} is ${w} (need > 0)`);
    if (!(gradSq[i] >= 0)) throw new Error(`samplingVariance: |g_${i}|^2 is ${gradSq[i]}`);
    m += gradSq[i] / w;
  }
  return m / n - meanGradSq;
}

/** The variance-optimal weights |g_i| / mean |g| (uniform when every gradient is zero). */
export function optimalWeights(gradSq: ArrayLike<number>): Float64Array {
  const norms = Float64Array.from(gradSq, (s) => Math.sqrt(s));
  const mean = norms.reduce((p, q) => p + q, 0) / norms.length;
  return mean > 0 ? norms.map((x) => x / mean) : norms.fill(1);
}

/** Weights rescaled to mean 1. */
export function meanOneWeights(w: ArrayLike<number>): Float64Array {
  const out = Float64Array.from(w);
  const mean = out.reduce((p, q) => p + q, 0) / out.length;
  if (!(mean > 0)) throw new Error('meanOneWeights: the weights sum to zero');
  return out.map((x) => x / mean);
}

export interface VarianceGain {
  /** V(1): uniform sampling's per-draw variance (trace of the covariance). */
  uniform: number;
  /** V(a*) / the best any importance sampler can do. */
  optimal: number;
  /** V(1) / V(a*): the largest batch-size factor any importance sampler can match. */
  optimalGain: number;
  /** V(1) / V(a) for the given weights (when given). */
  gain?: number;
}

/**
 * The variance ratios of uniform sampling over the optimal sampler and over a sampler with the
 * given weights (rescaled to mean 1), from per-sample squared gradient norms and |gbar|^2.
 */
export function varianceGain(
  gradSq: ArrayLike<number>,
  meanGradSq: number,
  weights?: ArrayLike<number>,
): VarianceGain {
  const uniform = samplingVariance(gradSq, meanGradSq);
  const optimal = samplingVariance(gradSq, meanGradSq, optimalWeights(gradSq));
  const out: VarianceGain = { uniform, optimal, optimalGain: uniform / optimal };
  if (weights) out.gain = uniform / samplingVariance(gradSq, meanGradSq, meanOneWeights(weights));
  return out;
}
