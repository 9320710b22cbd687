import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { mulberry32, quantizeGradient, stochasticRoundValues } from '../../src/lowprec/index.js';
import { useBackend } from '../helpers.js';

describe('stochastic gradient rounding', () => {
  it('is unbiased: the mean over draws is within 4 standard errors of g', () => {
    const rnd = mulberry32(1);
    const g = Float32Array.from({ length: 64 }, () => rnd() * 2 - 1);
    g[0] = 1; // sets the scale: s = 1/127
    const s = 1 / 127;
    const draws = 4000;
    const sum = new Float64Array(g.length);
    for (let t = 0; t < draws; t++) {
      const q = stochasticRoundValues(g, 8, rnd);
      for (let i = 0; i < g.length; i++) sum[i] += q[i];
    }
    let worst = 0;
    for (let i = 0; i < g.length; i++) {
      const p = g[i] / s - Math.floor(g[i] / s); // Bernoulli probability of rounding up
      const se = (s * Math.sqrt(p * (1 - p))) / Math.sqrt(draws) + 1e-12;
      const z = Math.abs(sum[i] / draws - g[i]) / se;
      worst = Math.max(worst, Number.isFinite(z) && p > 1e-6 ? z : 0);
      assert.ok(Math.abs(sum[i] / draws - g[i]) <= 4 * se + 1e-7, `value ${i}: z ${z}`);
    }
    // Deterministic rounding is biased on the same data (the test can fail).
    const nearest = Array.from(g, (v) => Math.round(v / s) * s);
    assert.ok(nearest.some((v, i) => Math.abs(v - g[i]) > 20 * (s / Math.sqrt(draws))));
    assert.ok(worst < 4.5);
  });

  it('values land on the 8-bit grid; bad bits are an error', () => {
    const q = stochasticRoundValues([0.3, -2, 1.1], 8, mulberry32(2));
    for (const v of q) assert.ok(Math.abs(v / (2 / 127) - Math.round(v / (2 / 127))) < 1e-4);
    assert.throws(() => stochasticRoundValues([1], 1, Math.random), /bits/);
    assert.throws(() => stochasticRoundValues([1], 2.5, Math.random), /bits/);
  });

  it('quantizeGradient is the identity forward and quantizes the gradient, no leaks', async () => {
    await useBackend('cpu');
    const x = tf.tensor1d([0.2, -0.5, 0.9]);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      const { value, grad } = tf.tidy(() =>
        tf.valueAndGrad((t: tf.Tensor) =>
          tf.sum(tf.mul(quantizeGradient(t, 8, mulberry32(i)), [0.3, 0.01, -1])),
        )(x),
      );
      assert.ok(Math.abs(value.dataSync()[0] - (0.06 - 0.005 - 0.9)) < 1e-6);
      const gr = grad.dataSync();
      const s = 1 / 127;
      for (const [j, want] of [0.3, 0.01, -1].entries()) {
        assert.ok(Math.abs(gr[j] - want) <= s + 1e-6, `grad ${gr[j]} vs ${want}`);
        assert.ok(Math.abs(gr[j] / s - Math.round(gr[j] / s)) < 1e-3);
      }
      tf.dispose([value, grad]);
    }
    assert.equal(tf.memory().numTensors, before);
    x.dispose();
  });
});
