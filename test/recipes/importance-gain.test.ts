import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { makeRng } from '../../src/engine/random.js';
import {
  meanOneWeights,
  optimalWeights,
  samplingVariance,
  varianceGain,
} from '../../src/recipes/index.js';

// 40 gradients in 3 dimensions, norms spread about 30-fold.
const rng0 = makeRng(5);
const G = Array.from({ length: 40 }, (_, i) => {
  const s = 0.2 + (i % 7) ** 2 / 8;
  return [s * (rng0() - 0.3), s * (rng0() - 0.5), s * rng0()];
});
const n = G.length;
const gbar = [0, 1, 2].map((k) => G.reduce((p, g) => p + g[k], 0) / n);
const gbarSq = gbar.reduce((p, x) => p + x * x, 0);
const gradSq = G.map((g) => g.reduce((p, x) => p + x * x, 0));

/** Empirical per-draw covariance trace of the estimator g_i / a_i, i ~ a_i / n. */
function empiricalVariance(a: ArrayLike<number>, draws: number, seed: number) {
  const rng = makeRng(seed);
  const cdf: number[] = [];
  let acc = 0;
  for (let i = 0; i < n; i++) {
    acc += a[i] / n;
    cdf.push(acc);
  }
  const sum = [0, 0, 0];
  let sq = 0;
  const traces: number[] = [];
  for (let t = 0; t < draws; t++) {
    const u = rng() * acc;
    const i = Math.min(
      cdf.findIndex((c) => c > u),
      n - 1,
    );
    const est = G[i].map((x) => x / a[i]);
    const d = est.reduce((p, x, k) => p + (x - gbar[k]) ** 2, 0);
    traces.push(d);
    sq += d;
    for (let k = 0; k < 3; k++) sum[k] += est[k];
  }
  const mean = sum.map((s) => s / draws);
  const v = sq / draws;
  const sd = Math.sqrt(traces.reduce((p, x) => p + (x - v) ** 2, 0) / (draws - 1));
  return { mean, variance: v, se: sd / Math.sqrt(draws) };
}

describe('recipes: importance-sampling variance gain', () => {
  it('matches the measured variance of the weighted estimator, which stays unbiased', () => {
    const weights = [
      undefined,
      optimalWeights(gradSq),
      meanOneWeights(G.map((_, i) => 1 + (i % 3))),
    ];
    for (const [j, a] of weights.entries()) {
      const w = a ?? new Float64Array(n).fill(1);
      const e = empiricalVariance(w, 40000, 9 + j);
      const want = samplingVariance(gradSq, gbarSq, a);
      assert.ok(Math.abs(e.variance - want) < 4 * e.se, `weights ${j}: ${e.variance} vs ${want}`);
      for (let k = 0; k < 3; k++)
        assert.ok(Math.abs(e.mean[k] - gbar[k]) < 0.05, `weights ${j}: biased in ${k}`);
    }
  });

  it('the optimal weights give the least variance; the gain of uniform weights is 1', () => {
    const g = varianceGain(gradSq, gbarSq, new Float64Array(n).fill(3));
    assert.ok(Math.abs((g.gain as number) - 1) < 1e-12);
    assert.ok(g.optimalGain > 1.2, `spread norms gain: ${g.optimalGain}`);
    // (mean |g|)^2 - |gbar|^2 in closed form.
    const meanNorm = gradSq.reduce((p, s) => p + Math.sqrt(s), 0) / n;
    assert.ok(Math.abs(g.optimal - (meanNorm ** 2 - gbarSq)) < 1e-9);
    const rng = makeRng(3);
    for (let t = 0; t < 50; t++) {
      const other = G.map(() => 0.05 + rng());
      assert.ok(varianceGain(gradSq, gbarSq, other).gain! <= g.optimalGain + 1e-12);
    }
    // Equal norms: no sampler beats uniform.
    assert.ok(Math.abs(varianceGain(new Array(n).fill(2), 0.5).optimalGain - 1) < 1e-12);
  });

  it('names bad input', () => {
    assert.throws(() => samplingVariance([], 0), /no gradients/);
    assert.throws(() => samplingVariance([1, 2], 0, [1]), /1 weights for 2/);
    assert.throws(() => samplingVariance([1, 2], 0, [1, 0]), /weight 1 is 0/);
    assert.throws(() => meanOneWeights([0, 0]), /sum to zero/);
  });
});
