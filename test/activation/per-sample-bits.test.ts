import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { readCodeAt, writeCodeAt } from '../../src/activation/codec/pack.js';
import {
  allocateSampleGroups,
  dequantizeSampleBits,
  quantizeSampleBitsInto,
} from '../../src/activation/codec/quantize-per-sample.js';
import { allocateSampleBits, sampleBitsCost } from '../../src/activation/codec/sample-bits.js';
import { saveQuantized } from '../../src/activation/codec/saved.js';
import { compressActivations } from '../../src/activation/convert.js';
import { streamingForward } from '../../src/activation/execution/streaming-forward.js';
import { CompressedDense } from '../../src/activation/layers/compressed-dense.js';
import type { CompressedLayer } from '../../src/activation/layers/compressed-layer.js';
import { activationMemory } from '../../src/activation/measure.js';
import { makeRng } from '../../src/engine/random.js';
import { seedActivationRng } from '../../src/engine/settings.js';
import { BACKENDS, maxAbsDiff, saveAndLoad, useBackend } from '../helpers.js';
import { tinyCnn } from '../tiny-models.js';

/** Every allocation of 1..8 bits per sample with the given sum: the exhaustive optimum. */
function bruteForce(costs: number[], total: number): number {
  let best = Number.POSITIVE_INFINITY;
  const bits = costs.map(() => 1);
  const visit = (i: number, left: number) => {
    if (i === costs.length) {
      if (left === 0) best = Math.min(best, sampleBitsCost(costs, bits));
      return;
    }
    for (let b = 1; b <= 8 && b <= left; b++) {
      bits[i] = b;
      visit(i + 1, left - b);
    }
  };
  visit(0, total);
  return best;
}

describe('per-sample bit allocation', () => {
  it('matches the exhaustive optimum on tiny cases and spends exactly N x average bits', () => {
    const rng = makeRng(3);
    for (let trial = 0; trial < 60; trial++) {
      const n = 2 + (trial % 3);
      // Ranges spread over orders of magnitude; some samples constant (cost 0) or tied.
      const costs = Array.from({ length: n }, () =>
        rng() < 0.15 ? 0 : 10 ** (6 * rng() - 3) * (rng() < 0.2 ? 1 : rng()),
      );
      if (trial % 7 === 0) costs[1] = costs[0];
      const avg = 1 + (trial % 7);
      const bits = allocateSampleBits(costs, avg);
      assert.equal(
        bits.reduce((a, b) => a + b, 0),
        n * avg,
      );
      assert.ok(bits.every((b) => b >= 1 && b <= 8));
      const got = sampleBitsCost(costs, bits);
      const opt = bruteForce(costs, n * avg);
      assert.ok(got <= opt * (1 + 1e-12) + 1e-300, `trial ${trial}: ${got} vs optimum ${opt}`);
    }
  });

  it('gives wider samples more bits, equal samples the average, and rejects bad input', () => {
    const bits = allocateSampleBits([100, 1, 1, 1e-4], 2);
    assert.ok(bits[0] > bits[1] && bits[1] >= bits[3], `${bits}`);
    assert.deepEqual([...allocateSampleBits([5, 5, 5, 5], 3)], [3, 3, 3, 3]);
    assert.deepEqual([...allocateSampleBits([1, 2], 8)], [8, 8]);
    assert.throws(() => allocateSampleBits([1, 2], 2.5), /average bits/);
    assert.throws(() => allocateSampleBits([1, 2], 0), /average bits/);
    assert.throws(() => allocateSampleBits([1, -1], 2), /sample 1/);
    assert.throws(() => allocateSampleBits([1, Number.NaN], 2), /sample 1/);
  });
});

describe('per-sample quantization', () => {
  it('packs codes of any width 1..8, straddling words', () => {
    const rng = makeRng(1);
    const widths = Array.from({ length: 200 }, () => 1 + Math.floor(rng() * 8));
    const codes = widths.map((b) => Math.floor(rng() * 2 ** b));
    const words = new Int32Array(Math.ceil(widths.reduce((a, b) => a + b, 0) / 32));
    let at = 0;
    for (let i = 0; i < codes.length; at += widths[i++])
      writeCodeAt(words, at, codes[i], widths[i]);
    at = 0;
    for (let i = 0; i < codes.length; at += widths[i++])
      assert.equal(readCodeAt(words, at, widths[i]), codes[i], `code ${i}`);
  });

  it('stores each sample at its width, stays in each group range, and is unbiased', () => {
    // 3 samples of 300 values (two groups each, the second padded) at 1, 3 and 7 bits.
    const perSample = 300;
    const x = new Float32Array(3 * perSample);
    const rng = makeRng(2);
    for (let i = 0; i < x.length; i++) x[i] = (rng() - 0.5) * (1 + Math.floor(i / perSample) * 10);
    x.fill(0.25, 2 * perSample + 256); // a constant group: exact
    const sampleBits = Uint8Array.from([1, 3, 7]);
    const words = (b: number) => (2 * 256 * b) / 32;
    const repeats = 400;
    const mean = new Float64Array(x.length);
    let single = 0;
    for (let r = 0; r < repeats; r++) {
      const q = allocateSampleGroups(sampleBits, perSample);
      assert.equal(q.words.length, words(1) + words(3) + words(7));
      quantizeSampleBitsInto(x, q, 0, makeRng(100 + r));
      const d = dequantizeSampleBits(q, 0, 3);
      for (let i = 0; i < x.length; i++) mean[i] += d[i] / repeats;
      if (r === 0) {
        for (let i = 2 * perSample + 256; i < x.length; i++) assert.equal(d[i], 0.25);
        for (const i of [0, 256, 300, 556, 600, 856]) {
          const g = x.subarray(i, i + (i % 300 === 0 ? 256 : 44));
          const lo = Math.min(...g);
          const hi = Math.max(...g);
          const out = d.subarray(i, i + g.length).filter((v) => v < lo - 1e-5 || v > hi + 1e-5);
          assert.equal(out.length, 0, `group at ${i} leaves [${lo}, ${hi}]: ${out}`);
        }
        single = maxAbsDiff(d.subarray(0, perSample), x.subarray(0, perSample));
        // A range restore equals that slice of the whole.
        assert.deepEqual(dequantizeSampleBits(q, 1, 2), d.subarray(perSample));
      }
    }
    const err = maxAbsDiff(
      Float32Array.from(mean.subarray(0, perSample)),
      x.subarray(0, perSample),
    );
    assert.ok(err < single / 4, `mean error ${err} vs one rounding ${single}`);
  });
});

/** Weight gradient of sum(dense(x) * r) through `layer`. */
function weightGrad(layer: CompressedDense, x: tf.Tensor, r: tf.Tensor): Float32Array {
  const w = layer.trainableWeights[0].read() as tf.Variable;
  return tf.tidy(() => {
    const { grads } = tf.variableGrads(
      () => tf.sum(tf.mul(layer.apply(x, { training: true }) as tf.Tensor, r)) as tf.Scalar,
      [w],
    );
    return grads[w.name].dataSync() as Float32Array;
  });
}

function sqErr(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return s;
}

for (const backend of BACKENDS)
  describe(`per-sample bits in a layer (${backend})`, () => {
    before(() => useBackend(backend));

    /** 8 samples of 64 values; sample 0's range is 200x the others'. */
    const unequalBatch = () =>
      tf.tidy(() =>
        tf.mul(
          tf.randomUniform([8, 64], -1, 1, 'float32', 4),
          tf.tensor2d([20, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1], [8, 1]),
        ),
      );

    const dense = (perSample: boolean, actBits: 2 | 32) => {
      const l = new CompressedDense({ units: 5, actBits, perSample });
      l.apply(tf.zeros([1, 64]));
      l.setWeights(l.getWeights().map((w, i) => tf.randomNormal(w.shape, 0, 1, 'float32', 10 + i)));
      return l;
    };

    it('has unbiased weight gradients and lower variance than uniform bits at the same average', () => {
      const x = unequalBatch();
      const r = tf.randomNormal([8, 5], 0, 1, 'float32', 5);
      const exact = weightGrad(dense(false, 32), x, r);
      const ps = dense(true, 2);
      const uniform = dense(false, 2);
      const seeds = 150;
      const mean = new Float64Array(exact.length);
      let varPs = 0;
      let varUniform = 0;
      for (let s = 0; s < seeds; s++) {
        seedActivationRng(500 + s);
        const g = weightGrad(ps, x, r);
        for (let i = 0; i < g.length; i++) mean[i] += g[i] / seeds;
        varPs += sqErr(g, exact) / seeds;
        seedActivationRng(500 + s);
        varUniform += sqErr(weightGrad(uniform, x, r), exact) / seeds;
      }
      // Unbiased: the mean's squared error is the variance / seeds (plus float noise), far below
      // one gradient's.
      const meanErr = sqErr(Float32Array.from(mean), exact);
      assert.ok(
        meanErr < (varPs / seeds) * 3,
        `mean ${meanErr} vs variance/seeds ${varPs / seeds}`,
      );
      assert.ok(varPs > 0, 'per-sample 2-bit gradients are still stochastic');
      assert.ok(varPs < varUniform / 4, `per-sample ${varPs} vs uniform ${varUniform}`);
      // Same code bytes as uniform 2 bits plus the 4-bit widths (one word for 8 samples).
      assert.equal(ps.lastSavedBytes, uniform.lastSavedBytes + 4);
      tf.dispose([x, r]);
    });

    it('restores rows like the whole restore, and leaks no tensors', () => {
      const x = unequalBatch();
      const saved = saveQuantized(x, 2, true);
      const whole = saved.restore(saved.tensors);
      const rows = saved.restoreRows?.(saved.tensors, 3, 4);
      assert.ok(rows);
      assert.deepEqual(rows.shape, [4, 64]);
      assert.equal(maxAbsDiff(rows, whole.slice([3, 0], [4, 64])), 0);
      tf.dispose([whole, rows, ...saved.tensors]);
      const l = dense(true, 2);
      const r = tf.ones([8, 5]);
      weightGrad(l, x, r);
      const before = tf.memory().numTensors;
      weightGrad(l, x, r);
      weightGrad(l, x, r);
      assert.equal(tf.memory().numTensors, before);
      tf.dispose([x, r]);
    });
  });

describe('per-sample bits through compressActivations', () => {
  before(() => useBackend('cpu'));

  it('is set by config.perSample, counted by the memory meter, and saved with the model', async () => {
    const model = tinyCnn([2, 3], 4, 1);
    const ps = await compressActivations(
      model,
      { level: 'L3', perSample: true },
      { warn: () => {} },
    );
    const uniform = await compressActivations(model, { level: 'L3' }, { warn: () => {} });
    const flags = ps.model.layers
      .filter((l) => l.getClassName().startsWith('FrugalCompressed'))
      .map((l) => (l as CompressedLayer).perSample);
    assert.ok(flags.length > 0 && flags.every(Boolean));
    const x = tf.randomNormal([8, 8, 8, 1], 0, 1, 'float32', 2);
    const y = tf.oneHot(tf.tensor1d([0, 1, 2, 0, 1, 2, 0, 1], 'int32'), 3);
    const a = activationMemory(ps.model, streamingForward(ps.model), x, y);
    const b = activationMemory(uniform.model, streamingForward(uniform.model), x, y);
    // The same code words at a 2-bit average, plus one header word per quantized save: the inputs
    // of both convolutions and both dense layers.
    assert.equal(a.savedBytes - b.savedBytes, 4 * 4);
    const loaded = await saveAndLoad(ps.model);
    assert.ok((loaded.getLayer('conv1') as CompressedLayer).perSample);
    assert.throws(() => new CompressedDense({ units: 2, perSample: 1 as never }), /perSample/);
  });
});
