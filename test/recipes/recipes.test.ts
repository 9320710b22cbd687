import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { ConfigError } from '../../src/config/index.js';
import { syntheticClassification } from '../../src/data/synthetic.js';
import {
  centralize,
  gradientCentralization,
  labelSmoothingLoss,
  patchStats,
  prepareRecipe,
  recipeConfig,
  samGradients,
  whiteningFilters,
} from '../../src/recipes/index.js';
import { applyStep, type GradientContext } from '../../src/train/gradients.js';
import { train } from '../../src/train/loop.js';
import { lossByName } from '../../src/train/loss.js';
import { tinyCnn } from '../tiny-models.js';

function dataImages(data: ReturnType<typeof syntheticClassification>, n: number): tf.Tensor4D {
  const [h, w, c] = data.sampleShape;
  return tf.tensor4d(data.train.x.slice(0, n * h * w * c), [n, h, w, c]);
}

describe('recipes: SAM', () => {
  it('takes the gradient at w + rho g/|g| and applies it at w (quadratic, SGD)', () => {
    const A = [
      [3, 1, 0],
      [1, 2, 0.5],
      [0, 0.5, 1],
    ];
    const b = [1, -2, 0.5];
    const w0 = [0.3, -0.7, 1.1];
    const rho = 0.1;
    const lr = 0.05;
    const w = tf.variable(tf.tensor1d(w0), true, 'sam_w');
    const At = tf.tensor2d(A);
    const bt = tf.tensor1d(b);
    const quad = (out: tf.Tensor) =>
      tf.sub(
        tf.mul(0.5, tf.sum(tf.mul(out, tf.squeeze(tf.matMul(At, tf.reshape(out, [3, 1])))))),
        tf.sum(tf.mul(bt, out)),
      ) as tf.Scalar;
    const ctx: GradientContext = {
      variables: [w],
      forward: () => w,
      loss: { name: 'mse', mean: (_ys, out) => quad(out), sum: (_ys, out) => quad(out) },
    };
    const opt = tf.train.sgd(lr);
    const batch = { xs: tf.zeros([1]), ys: tf.zeros([1]) };
    const before = tf.memory().numTensors;
    applyStep(ctx, opt, batch, { gradients: samGradients(rho) }).dispose();
    assert.equal(tf.memory().numTensors, before);
    // Reference: g = A w - b; e = rho g/|g|; w' = w - lr (A (w + e) - b).
    const mv = (v: number[]) => A.map((r) => r.reduce((s, a, j) => s + a * v[j], 0));
    const g = mv(w0).map((x, i) => x - b[i]);
    const n = Math.hypot(...g);
    const we = w0.map((x, i) => x + (rho * g[i]) / n);
    const g2 = mv(we).map((x, i) => x - b[i]);
    const expected = w0.map((x, i) => x - lr * g2[i]);
    const got = Array.from(w.dataSync());
    for (let i = 0; i < 3; i++)
      assert.ok(Math.abs(got[i] - expected[i]) < 1e-5, `${got} vs ${expected}`);
    // and it differs from a plain step
    const plain = w0.map((x, i) => x - lr * g[i]);
    assert.ok(Math.abs(got[0] - plain[0]) > 1e-3);
    tf.dispose([w, At, bt, batch.xs, batch.ys]);
    opt.dispose();
  });

  it('with every = 3 perturbs steps 1, 4, 7 and takes plain passes between (counted passes)', () => {
    const w = tf.variable(tf.tensor1d([1, -2]), true, 'sam_every_w');
    let passes = 0;
    const ctx: GradientContext = {
      variables: [w],
      forward: () => {
        passes++;
        return w;
      },
      loss: {
        name: 'mse',
        mean: (_ys, out) => tf.sum(tf.square(out)) as tf.Scalar,
        sum: (_ys, out) => tf.sum(tf.square(out)) as tf.Scalar,
      },
    };
    const opt = tf.train.sgd(0.01);
    const batch = { xs: tf.zeros([1]), ys: tf.zeros([1]) };
    const hook = samGradients(0.1, 3);
    const perStep: number[] = [];
    const before = tf.memory().numTensors;
    for (let s = 0; s < 7; s++) {
      const p0 = passes;
      applyStep(ctx, opt, batch, { gradients: hook }).dispose();
      perStep.push(passes - p0);
    }
    assert.equal(tf.memory().numTensors, before);
    assert.deepEqual(perStep, [2, 1, 1, 2, 1, 1, 2]);
    assert.throws(() => samGradients(0.1, 0), /every must be an integer >= 1/);
    assert.throws(() => samGradients(0.1, 1.5), /every must be an integer >= 1/);
    assert.throws(() => recipeConfig('none', { samEvery: 2 }), /applies to SAM, which is off/);
    assert.throws(
      () => recipeConfig('haet', { samRho: null, samEvery: 8 }),
      /applies to SAM, which is off/,
    );
    // The preset's cadence (every 8th step) goes with its SAM.
    assert.equal(recipeConfig('haet').samEvery, 8);
    assert.equal(recipeConfig('haet', { samRho: null }).samEvery, 1);
    tf.dispose([w, batch.xs, batch.ys]);
    opt.dispose();
  });
});

describe('recipes: gradient centralisation', () => {
  it('gives zero mean per output filter (every axis but the last) and leaves biases', () => {
    const g = tf.randomNormal([3, 3, 4, 5], 1, 1, 'float32', 7);
    const c = centralize(g);
    const means = tf.mean(c, [0, 1, 2]).dataSync();
    for (const m of means) assert.ok(Math.abs(m) < 1e-6, `mean ${m}`);
    // removes exactly the per-filter mean
    const diff = tf.sub(g, c);
    const spread = tf.sub(tf.max(diff, [0, 1, 2]), tf.min(diff, [0, 1, 2])).dataSync();
    for (const s of spread) assert.ok(s < 1e-5);
    const bias = tf.tensor1d([1, 2, 3]);
    const cb = centralize(bias);
    assert.deepEqual(Array.from(cb.dataSync()), [1, 2, 3]);
    const hook = gradientCentralization();
    const r = hook(
      () => ({ value: tf.scalar(1), grads: { k: g.clone(), b: bias.clone() } }),
      {} as GradientContext,
      { xs: bias, ys: bias },
    );
    const km = tf.mean(r.grads.k, [0, 1, 2]).dataSync();
    for (const m of km) assert.ok(Math.abs(m) < 1e-6);
    tf.dispose([g, c, means as never, diff, bias, cb, r.value, ...Object.values(r.grads)]);
  });
});

describe('recipes: label smoothing', () => {
  it('matches tfjs softmax cross-entropy with labelSmoothing, and refuses mse', () => {
    const logits = tf.tensor2d([
      [1, 2, 0.5],
      [-1, 0, 3],
    ]);
    const ys = tf.tensor2d([
      [0, 1, 0],
      [1, 0, 0],
    ]);
    const ls = labelSmoothingLoss(lossByName('logits'), 0.2);
    const got = ls.mean(ys, logits).dataSync()[0];
    const ref = tf.losses.softmaxCrossEntropy(ys, logits, undefined, 0.2).dataSync()[0];
    assert.ok(Math.abs(got - ref) < 1e-5, `${got} vs ${ref}`);
    const p = tf.softmax(logits);
    const gp = labelSmoothingLoss(lossByName('probabilities'), 0.2).mean(ys, p).dataSync()[0];
    assert.ok(Math.abs(gp - ref) < 1e-5);
    assert.throws(() => labelSmoothingLoss(lossByName('mse'), 0.1), /classification/);
    tf.dispose([logits, ys, p]);
  });
});

describe('recipes: patch whitening', () => {
  it('gives patches identity covariance after the whitening filters', () => {
    // correlated images: noise blurred by a 2x2 box
    const noise: tf.Tensor4D = tf.randomNormal([40, 10, 10, 2], 0.5, 1, 'float32', 3);
    const images = tf.tidy(
      () =>
        tf
          .avgPool(noise, 2, 1, 'valid')
          .add(tf.mul(0.1, tf.slice(noise, [0, 0, 0, 0], [40, 9, 9, 2]))) as tf.Tensor4D,
    );
    const k = 3;
    const stats = patchStats(images, k);
    const { kernel, bias } = whiteningFilters(stats, k, 2, stats.d, 1e-8);
    const out = tf.tidy(() =>
      tf.reshape(tf.add(tf.conv2d(images, kernel, 1, 'valid'), bias), [-1, stats.d]),
    );
    const m = out.shape[0];
    const mean = tf.mean(out, 0).dataSync();
    for (const v of mean) assert.ok(Math.abs(v) < 1e-3, `whitened mean ${v}`);
    const cov = tf.tidy(() => tf.div(tf.matMul(out, out, true, false), m)).dataSync();
    let worst = 0;
    for (let i = 0; i < stats.d; i++)
      for (let j = 0; j < stats.d; j++)
        worst = Math.max(worst, Math.abs(cov[i * stats.d + j] - (i === j ? 1 : 0)));
    assert.ok(worst < 1e-2, `covariance off identity by ${worst}`);
    // the raw patches are far from white
    assert.ok(
      Math.abs(stats.covariance[2] / stats.covariance[0]) > 0.2,
      `raw correlation ${stats.covariance[2] / stats.covariance[0]}`,
    );
    tf.dispose([noise, images, kernel, bias, out]);
  });
});

describe('recipes: haet through train()', () => {
  const data = syntheticClassification({ numClasses: 3, trainCount: 96, testCount: 32, seed: 2 });
  const run = async (seed: number) => {
    const model = tinyCnn([9, 8], 8, seed);
    const prep = prepareRecipe(model, recipeConfig('haet'), () => dataImages(data, 32), {
      learningRate: 1e-3,
      schedule: { totalSteps: 6 },
    });
    const r = await train(
      model,
      data,
      { epochs: 2, batchSize: 32, seed, measureMemory: false },
      { hooks: prep.hooks },
    );
    const w = model.getWeights().map((t) => Array.from(t.dataSync()));
    model.dispose();
    return { r, w, prep };
  };
  it('is deterministic under a seed, leaks nothing and learns', async () => {
    await tf.setBackend('cpu');
    const a = await run(4);
    const before = tf.memory().numTensors;
    const b = await run(4);
    assert.equal(tf.memory().numTensors, before);
    assert.deepEqual(a.w, b.w);
    assert.equal(a.prep.whitening?.patchSize, 9);
    assert.ok(a.r.testAccuracy > 0.5, `accuracy ${a.r.testAccuracy}`);
  });
  it('stops at the time budget and evaluates', async () => {
    const model = tinyCnn([4, 4], 8, 1);
    const r = await train(
      model,
      data,
      { epochs: 50, batchSize: 8, seed: 1, measureMemory: false },
      { timeBudgetMs: 1 },
    );
    assert.equal(r.steps, 1);
    assert.equal(r.history.length, 1);
    assert.ok(r.testAccuracy >= 0);
    await assert.rejects(() => train(model, data, {}, { timeBudgetMs: 0 }), /timeBudgetMs/);
    model.dispose();
  });
  it('config: presets, overrides and errors naming the field', () => {
    assert.equal(recipeConfig('haet', { samRho: 0.1 }).samRho, 0.1);
    assert.equal(recipeConfig().samRho, null);
    assert.throws(
      () => recipeConfig('haet', { labelSmoothing: 1.5 }),
      (e: unknown) => e instanceof ConfigError && /labelSmoothing/.test(e.message),
    );
    assert.throws(() => recipeConfig('fast' as never), /recipe/);
  });
});
