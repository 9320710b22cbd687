import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { makeRng, normal } from '../../src/engine/random.js';
import { mvue12ConvGradVariance, mvue12DenseGradVariance } from '../../src/sparse/grad-noise.js';
import { sparseGradConv2d } from '../../src/sparse/sparse-grad-conv.js';
import { sparseGradMatMul } from '../../src/sparse/sparse-grad-dense.js';
import { useBackend } from '../helpers.js';

function randn(shape: number[], seed: number): tf.Tensor {
  const rng = makeRng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(
    Float32Array.from({ length: n }, () => normal(rng)),
    shape,
  );
}

/**
 * Samples whose pairs (2i, 2i+1) are correlated (x_{2i+1} = 0.8 x_{2i} + 0.6 noise), and dz
 * likewise, so that the cross term -2 G(x_e x_o, ab) of the variance is large, not about 0 as
 * for independent samples (a wrong sign there would miss by far more than the tolerance).
 */
function pairedRandn(shape: number[], seed: number): tf.Tensor {
  return tf.tidy(() => {
    const t = randn(shape, seed);
    const n = shape[0];
    const rows = Array.from({ length: n }, (_, i) =>
      i % 2 === 1
        ? tf.add(tf.mul(0.8, t.slice(i - 1, 1)), tf.mul(0.6, t.slice(i, 1)))
        : t.slice(i, 1),
    );
    return tf.concat(rows, 0);
  });
}

/** Per-entry mean and variance of `draw()` over `k` draws. */
function moments(draw: () => tf.Tensor, k: number): { mean: Float64Array; variance: Float64Array } {
  let sum: Float64Array | null = null;
  let sq: Float64Array | null = null;
  for (let d = 0; d < k; d++) {
    const t = draw();
    const v = t.dataSync();
    t.dispose();
    sum ??= new Float64Array(v.length);
    sq ??= new Float64Array(v.length);
    for (let i = 0; i < v.length; i++) {
      sum[i] += v[i];
      sq[i] += v[i] * v[i];
    }
  }
  const mean = (sum as Float64Array).map((s) => s / k);
  const variance = (sq as Float64Array).map((s, i) => ((s / k - mean[i] ** 2) * k) / (k - 1));
  return { mean, variance };
}

/** Summed empirical variance over summed predicted variance. */
function ratio(
  emp: Float64Array,
  pred: Float32Array | Float64Array | Int32Array | Uint8Array,
): number {
  let e = 0;
  let p = 0;
  for (let i = 0; i < emp.length; i++) {
    e += emp[i];
    p += pred[i];
  }
  return e / p;
}

describe('grad-noise: the closed-form MVUE 1:2 weight-gradient variance', () => {
  before(() => useBackend('cpu'));
  const spec = { n: 1, m: 2, kind: 'mvue' } as const;
  const k = 600;

  for (const [kernel, strides] of [
    [3, 2],
    [1, 2],
    [3, 1],
  ] as const)
    it(`matches the drawn variance of a ${kernel}x${kernel} stride-${strides} 'same' conv (odd batch)`, () => {
      const x = pairedRandn([9, 7, 7, 3], 1) as tf.Tensor4D;
      const w = randn([kernel, kernel, 3, 4], 2) as tf.Tensor4D;
      const out = Math.ceil(7 / strides);
      const c = pairedRandn([9, out, out, 4], 3) as tf.Tensor4D;
      const rng = makeRng(5);
      const dW = tf.grad((wv: tf.Tensor) =>
        tf.sum(tf.mul(sparseGradConv2d(x, wv as tf.Tensor4D, strides, 'same', spec, rng), c)),
      );
      const { variance } = moments(() => dW(w), k);
      const pred = mvue12ConvGradVariance(x, c, [kernel, kernel, 3, 4], [strides, strides], 'same');
      const r = ratio(variance, pred.dataSync());
      // The variance estimate of k draws has relative sd about sqrt(2 / k) = 6% per entry.
      assert.ok(Math.abs(r - 1) < 0.1, `drawn / predicted variance ${r}`);
      tf.dispose([x, w, c, pred]);
    });

  it('matches the drawn variance of a Dense kernel gradient', () => {
    const x = pairedRandn([12, 5], 1) as tf.Tensor2D;
    const w = randn([5, 3], 2) as tf.Tensor2D;
    const c = pairedRandn([12, 3], 3) as tf.Tensor2D;
    const rng = makeRng(6);
    const dW = tf.grad((wv: tf.Tensor) =>
      tf.sum(tf.mul(sparseGradMatMul(x, wv as tf.Tensor2D, spec, rng), c)),
    );
    const { variance } = moments(() => dW(w), k);
    const pred = mvue12DenseGradVariance(x, c);
    const r = ratio(variance, pred.dataSync());
    assert.ok(Math.abs(r - 1) < 0.1, `drawn / predicted variance ${r}`);
    tf.dispose([x, w, c, pred]);
  });

  it('refuses a batch without a pair', () => {
    const x = tf.ones([1, 2]) as tf.Tensor2D;
    assert.throws(() => mvue12DenseGradVariance(x, x), /no pair/);
    assert.throws(() => mvue12DenseGradVariance(tf.ones([2, 2]), tf.ones([4, 2])), /samples/);
    x.dispose();
  });
});
