import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { makeRng, normal } from '../../src/engine/random.js';
import {
  hasSparseGradLayers,
  modelPruneStats,
  plainFromSparseGrad,
  sparseGradModel,
} from '../../src/sparse/convert.js';
import { parseGradPrune } from '../../src/sparse/grad-prune.js';
import {
  GroupScratch,
  groupOutcomes,
  maskGroup,
  maskGroupFast,
  mvueInclusion,
  systematicSelect,
} from '../../src/sparse/mvue.js';
import { normalQuantile, stochPrune, stochPruneThreshold } from '../../src/sparse/stoch-prune.js';
import { maxAbsDiff, useBackend } from '../helpers.js';

describe('maskGroupFast', () => {
  it('keeps the set systematicSelect(mvueInclusion(g), n, u) picks for its draw u, scaled by 1/pi; magnitude keeps the n largest', () => {
    const src = makeRng(1);
    for (const [n, m] of [
      [1, 2],
      [2, 4],
      [3, 8],
    ]) {
      const s = new GroupScratch(m);
      for (let t = 0; t < 300; t++) {
        const g = Float64Array.from({ length: m }, () => (src() < 0.1 ? 0 : normal(src)));
        if (t % 7 === 0) g[0] = 10; // dominant case
        const pi = mvueInclusion(g, n);
        const keep = systematicSelect(pi, n, makeRng(t)());
        const want = Array.from(g, (v, i) => (keep.includes(i) && pi[i] > 0 ? v / pi[i] : 0));
        const b = Float64Array.from(g);
        maskGroupFast(b, n, 'mvue', makeRng(t), s);
        assert.deepEqual([...b], want, `mvue ${n}:${m} group ${[...g]}`);
        const mag = Float64Array.from(g);
        maskGroupFast(mag, n, 'magnitude', makeRng(t), s);
        assert.deepEqual([...mag], groupOutcomes(g, n, 'magnitude')[0].out, `magnitude ${[...g]}`);
        const viaMaskGroup = Float64Array.from(g);
        maskGroup(viaMaskGroup, n, 'mvue', makeRng(t));
        assert.deepEqual([...viaMaskGroup], want, 'maskGroup runs the same mask');
      }
    }
  });
});

describe('stochastic pruning (Ye et al.)', () => {
  it('normalQuantile inverts the normal CDF', () => {
    assert.ok(Math.abs(normalQuantile(0.95) - 1.6448536) < 1e-6);
    assert.ok(Math.abs(normalQuantile(0.5)) < 1e-12);
    assert.ok(Math.abs(normalQuantile(0.001) + 3.0902323) < 1e-6);
  });

  it('is unbiased: per-entry z-test of the mean over 4000 draws', () => {
    const rng = makeRng(3);
    const g = Float32Array.from({ length: 64 }, () => normal(rng));
    const draws = 4000;
    const sum = new Float64Array(g.length);
    const sq = new Float64Array(g.length);
    for (let d = 0; d < draws; d++) {
      const { values } = stochPrune(g, 0.9, rng);
      for (let i = 0; i < g.length; i++) {
        sum[i] += values[i];
        sq[i] += values[i] ** 2;
      }
    }
    let maxZ = 0;
    for (let i = 0; i < g.length; i++) {
      const mean = sum[i] / draws;
      const sd = Math.sqrt(Math.max(sq[i] / draws - mean * mean, 1e-12) / draws);
      if (sq[i] / draws - mean * mean > 1e-9) maxZ = Math.max(maxZ, Math.abs(mean - g[i]) / sd);
      else assert.ok(Math.abs(mean - g[i]) < 1e-6); // above tau: kept exactly
    }
    assert.ok(maxZ < 4.5, `max |z| ${maxZ.toFixed(2)}`);
    // A biased variant (below tau -> 0) fails the same check.
    const tau = stochPruneThreshold(g, 0.9);
    const small = [...g].findIndex((v) => Math.abs(v) < tau && Math.abs(v) > 0.1);
    assert.ok(small >= 0 && Math.abs(sum[small] / draws) > 0.05);
  });

  it('reaches a zero fraction below p: about 0.54 at p = 0.9 on Gaussian values', () => {
    const rng = makeRng(5);
    const g = Float32Array.from({ length: 200000 }, () => 0.01 * normal(rng));
    const r = stochPrune(g, 0.9, rng);
    const frac = r.zeros / g.length;
    // P(|g| < tau) = 0.9; of those, E[|g|/tau; |g| < tau] = 2(1 - e^{-z^2/2})/(z sqrt(2 pi)) are kept.
    const z = normalQuantile(0.95);
    const expected = 0.9 - (2 * (1 - Math.exp((-z * z) / 2))) / (z * Math.sqrt(2 * Math.PI));
    assert.ok(Math.abs(frac - expected) < 0.005, `zero fraction ${frac} vs ${expected}`);
    assert.ok(Math.abs(r.tau / 0.01 - z) < 0.01, `tau ${r.tau}`);
  });

  it('bad p and kinds are errors naming the field', () => {
    assert.throws(() => parseGradPrune({ kind: 'stochastic', p: 1 }), /gradSparsity.*p/);
    assert.throws(() => parseGradPrune({ kind: 'stochastic', p: 0 }), /p must be in \(0, 1\)/);
    assert.throws(() => parseGradPrune({ kind: 'stochastic', p: -0.5 }), /p/);
    assert.throws(() => parseGradPrune({ n: 2, m: 4, kind: 'top' }), /kind/);
  });
});

describe('sparseGradModel: Dense/Conv2D -> sparse-gradient layers and back', () => {
  before(() => useBackend('cpu'));

  function tinyCnn(): tf.LayersModel {
    const m = tf.sequential();
    m.add(
      tf.layers.conv2d({ inputShape: [6, 6, 1], filters: 4, kernelSize: 3, activation: 'relu' }),
    );
    m.add(tf.layers.flatten());
    m.add(tf.layers.dense({ units: 8, activation: 'relu' }));
    m.add(tf.layers.dense({ units: 3, activation: 'softmax' }));
    return m;
  }

  it('same forward, converted layers listed, trains without leaks, plain back with the trained weights', () => {
    const model = tinyCnn();
    const r = sparseGradModel(model, { n: 2, m: 4, kind: 'mvue' }, { seed: 1 });
    assert.deepEqual(
      r.converted.map((c) => c.from),
      ['Conv2D', 'Dense'],
    );
    assert.equal(r.unconverted.length, 1);
    assert.match(r.unconverted[0].reason, /softmax/);
    assert.ok(hasSparseGradLayers(r.model));
    const x = tf.randomNormal([8, 6, 6, 1], 0, 1, 'float32', 2);
    const y = tf.oneHot(tf.tensor1d([0, 1, 2, 0, 1, 2, 0, 1], 'int32'), 3);
    const before = model.predict(x) as tf.Tensor;
    const after = r.model.predict(x) as tf.Tensor;
    assert.ok(maxAbsDiff(before, after) < 1e-6);
    const opt = tf.train.sgd(0.1);
    const vars = r.model.trainableWeights.map((w) => w.read() as tf.Variable);
    const step = () =>
      tf.tidy(() => {
        opt.minimize(
          () =>
            tf.losses.softmaxCrossEntropy(
              y,
              r.model.apply(x, { training: true }) as tf.Tensor,
            ) as tf.Scalar,
          false,
          vars,
        );
      });
    step();
    const n0 = tf.memory().numTensors;
    step();
    step();
    assert.equal(tf.memory().numTensors, n0);
    const stats = modelPruneStats(r.model);
    assert.ok(
      stats.total > 0 && stats.zeros / stats.total >= 0.5,
      `zeros ${stats.zeros}/${stats.total}`,
    );
    const plain = plainFromSparseGrad(r.model);
    assert.ok(!hasSparseGradLayers(plain));
    assert.deepEqual(
      plain.layers.map((l) => l.getClassName()),
      model.layers.map((l) => l.getClassName()),
    );
    const p1 = r.model.predict(x) as tf.Tensor;
    const p2 = plain.predict(x) as tf.Tensor;
    assert.ok(maxAbsDiff(p1, p2) < 1e-6);
    assert.ok(maxAbsDiff(before, p2) > 1e-4, 'the trained weights were carried over');
    tf.dispose([x, y, before, after, p1, p2]);
    opt.dispose();
  });

  it('refuses compressed-activation models and models with nothing to convert', () => {
    const m = tf.sequential();
    m.add(tf.layers.dense({ inputShape: [4], units: 2, activation: 'softmax' }));
    assert.throws(
      () => sparseGradModel(m, { n: 1, m: 2, kind: 'mvue' }),
      /no Dense or Conv2D layer to convert.*softmax/,
    );
    // The refused conversion frees the copy it built (its weights), every time.
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++)
      assert.throws(() => sparseGradModel(m, { n: 1, m: 2, kind: 'mvue' }), /no Dense or Conv2D/);
    assert.equal(tf.memory().numTensors, before, 'no tensors left by the refused conversions');
    assert.throws(
      () => sparseGradModel(m, { n: 3, m: 2, kind: 'mvue' }),
      /n \(3\) must not exceed m/,
    );
  });
});
