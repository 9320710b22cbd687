import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { syntheticClassification } from '../../src/data/synthetic.js';
import {
  budgetFactor,
  budgetSchedule,
  composeHooks,
  learningRateOf,
  prepareRecipe,
  recipeConfig,
  recipeHooks,
  setLearningRate,
  WARMUP_START,
  weightDecayHooks,
} from '../../src/recipes/index.js';
import { applyStep, type GradientContext } from '../../src/train/gradients.js';
import { train } from '../../src/train/loop.js';
import { lossByName } from '../../src/train/loss.js';
import { makeOptimizer, OPTIMIZERS } from '../../src/train/optimizer.js';
import { tinyCnn } from '../tiny-models.js';

const close = (a: number, b: number, tol = 1e-9) =>
  assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

/** A quadratic 0.5 |w - t|^2 on one variable: its gradient is w - t. */
function quadratic(name: string, w0: number[], t: number[]) {
  const w = tf.variable(tf.tensor1d(w0), true, name);
  const target = tf.tensor1d(t);
  const ctx: GradientContext = {
    variables: [w],
    forward: () => w,
    loss: {
      ...lossByName('mse'),
      mean: (_ys, out) => tf.mul(0.5, tf.sum(tf.square(tf.sub(out, target)))) as tf.Scalar,
    },
  };
  const batch = { xs: tf.zeros([1]), ys: tf.zeros([1]) };
  return { w, ctx, batch, dispose: () => tf.dispose([w, target, batch.xs, batch.ys]) };
}

describe('recipes: budget learning-rate schedule', () => {
  it('warms up linearly, peaks at the warm-up fraction and decays linearly to final at the end', () => {
    const c = { warmup: 0.2, final: 0 };
    close(budgetFactor(0, c), WARMUP_START);
    close(budgetFactor(0.1, c), WARMUP_START + (1 - WARMUP_START) * 0.5);
    close(budgetFactor(0.2, c), 1);
    close(budgetFactor(0.6, c), 0.5);
    close(budgetFactor(1, c), 0);
    close(budgetFactor(1.7, c), 0); // past the deadline: clamped
    close(budgetFactor(-1, c), WARMUP_START);
    const g = { warmup: 0, final: 0.1 };
    close(budgetFactor(0, g), 1);
    close(budgetFactor(0.5, g), 0.55);
    close(budgetFactor(1, g), 0.1);
  });

  it('sets the rate of every optimizer frugal makes before each step (steps span)', async () => {
    await tf.setBackend('cpu');
    for (const name of OPTIMIZERS) {
      const q = quadratic(`lrs_${name}`, [1, -2], [0, 0]);
      const opt = makeOptimizer(name, 0.1);
      const rates: number[] = [];
      const hooks = budgetSchedule(
        0.1,
        { warmup: 0.25, final: 0, peak: 1 },
        { totalSteps: 4 },
        rates,
      );
      for (let i = 0; i < 4; i++) applyStep(q.ctx, opt, q.batch, hooks).dispose();
      const want = [0, 0.25, 0.5, 0.75].map(
        (p) => 0.1 * budgetFactor(p, { warmup: 0.25, final: 0 }),
      );
      rates.forEach((r, i) => {
        close(r, want[i]);
      });
      close(learningRateOf(opt), want[3]);
      opt.dispose();
      q.dispose();
    }
  });

  it('the SGD update uses the scheduled rate exactly (w -= lr_t * g) and leaks nothing', async () => {
    await tf.setBackend('cpu');
    const q = quadratic('lrs_sgd_exact', [1, -2, 0.5], [0.2, 0.1, -0.3]);
    const opt = tf.train.sgd(0.5);
    const c = { warmup: 0.5, final: 0.2, peak: 1 };
    const hooks = budgetSchedule(0.5, c, { totalSteps: 6 });
    const before = tf.memory().numTensors;
    let w = [1, -2, 0.5];
    for (let i = 0; i < 6; i++) {
      const lr = 0.5 * budgetFactor(i / 6, c);
      w = w.map((x, j) => x - lr * (x - [0.2, 0.1, -0.3][j]));
      applyStep(q.ctx, opt, q.batch, hooks).dispose();
      Array.from(q.w.dataSync()).forEach((x, j) => {
        close(x, w[j], 1e-5);
      });
    }
    assert.equal(tf.memory().numTensors, before);
    opt.dispose();
    q.dispose();
  });

  it('peak multiplies the configured rate', async () => {
    await tf.setBackend('cpu');
    const rates: number[] = [];
    const hooks = budgetSchedule(0.01, { warmup: 0, final: 0, peak: 2 }, { totalSteps: 4 }, rates);
    const opt = makeOptimizer('adam', 0.01);
    for (let i = 0; i < 4; i++) hooks.beforeStep?.(opt);
    [0.02, 0.015, 0.01, 0.005].forEach((r, i) => {
      close(rates[i], r, 1e-12);
    });
    opt.dispose();
  });

  it('a time span follows the given clock: zero rate at the deadline', async () => {
    await tf.setBackend('cpu');
    let now = 0;
    const rates: number[] = [];
    const hooks = budgetSchedule(
      1,
      { warmup: 0.2, final: 0, peak: 1 },
      { budgetMs: 100, clock: () => now },
      rates,
    );
    const opt = makeOptimizer('adam', 1);
    for (const t of [0, 20, 60, 100, 130]) {
      now = t;
      hooks.beforeStep?.(opt);
    }
    [WARMUP_START, 1, 0.5, 0, 0].forEach((r, i) => {
      close(rates[i], r);
    });
    opt.dispose();
  });

  it('decoupled weight decay follows the scheduled rate', async () => {
    await tf.setBackend('cpu');
    // A kernel (rank 2) whose loss is constant: the update is zero, only the decay moves it.
    const w = tf.variable(tf.ones([2, 2]), true, 'lrs_wd');
    const ctx: GradientContext = {
      variables: [w],
      forward: () => w,
      loss: { ...lossByName('mse'), mean: (_y, out) => tf.mul(tf.sum(out), 0) as tf.Scalar },
    };
    const batch = { xs: tf.zeros([1]), ys: tf.zeros([1]) };
    const opt = tf.train.sgd(0.1);
    const c = { warmup: 0, final: 0, peak: 1 };
    const hooks = composeHooks([
      budgetSchedule(0.1, c, { totalSteps: 2 }),
      weightDecayHooks(0.5, 0.1),
    ]);
    applyStep(ctx, opt, batch, hooks).dispose();
    close(w.dataSync()[0], 1 - 0.1 * 0.5, 1e-6);
    applyStep(ctx, opt, batch, hooks).dispose();
    close(w.dataSync()[0], (1 - 0.05) * (1 - 0.05 * 0.5), 1e-6);
    tf.dispose([w, batch.xs, batch.ys]);
    opt.dispose();
  });

  it('errors name the problem', () => {
    assert.throws(
      () => budgetSchedule(0.1, { warmup: 1, final: 0, peak: 1 }, { totalSteps: 3 }),
      /warmup must be in \[0, 1\)/,
    );
    assert.throws(
      () => budgetSchedule(0.1, { warmup: 0.1, final: 1, peak: 1 }, { totalSteps: 3 }),
      /final must be in \[0, 1\)/,
    );
    assert.throws(
      () => budgetSchedule(0.1, { warmup: 0, final: 0, peak: 1 }, { totalSteps: 0 }),
      /totalSteps/,
    );
    assert.throws(
      () => budgetSchedule(0, { warmup: 0, final: 0, peak: 1 }, { budgetMs: 10 }),
      /learning rate must be above 0/,
    );
    assert.throws(() => recipeHooks(recipeConfig('haet'), { learningRate: 1e-3 }), /run's length/);
    assert.throws(
      () => recipeConfig('none', { schedule: { warmup: 0.5, final: 2, peak: 1 } }),
      /schedule.*final/,
    );
    assert.throws(
      () => budgetSchedule(0.1, { warmup: 0, final: 0, peak: 0 }, { totalSteps: 3 }),
      /peak must be above 0/,
    );
    const opt = tf.train.adam(0.1);
    assert.throws(() => setLearningRate(opt, -1), /rate must be >= 0/);
    opt.dispose();
  });

  it('the haet preset through train(): the rate ends at zero with the last step', async () => {
    await tf.setBackend('cpu');
    const data = syntheticClassification({ numClasses: 3, trainCount: 64, testCount: 16, seed: 3 });
    const model = tinyCnn([4, 4], 8, 1);
    const opt = makeOptimizer('adam', 1e-2);
    const prep = prepareRecipe(
      model,
      recipeConfig('haet', { patchWhitening: null, samRho: null }),
      undefined,
      { learningRate: 1e-2, schedule: { totalSteps: 8 } },
    );
    await train(
      model,
      data,
      { epochs: 2, batchSize: 16, seed: 1, measureMemory: false },
      {
        hooks: prep.hooks,
        optimizer: opt,
      },
    );
    // Step 8 of 8 ran at progress 7/8: the preset's peak 2 x 1e-2, times (1/8) / 0.8.
    close(learningRateOf(opt), 2e-2 * budgetFactor(7 / 8, { warmup: 0.2, final: 0 }), 1e-12);
    opt.dispose();
    model.dispose();
  });
});
