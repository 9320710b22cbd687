import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { OdeBlock, odeBlocks } from '../../src/ode/ode-block.js';
import {
  accuracyBySolver,
  fgsm,
  pgd,
  robustAccuracy,
  robustCorrect,
} from '../../src/ode/robustness.js';
import { evaluate } from '../../src/train/evaluate.js';
import { useBackend } from '../helpers.js';
import { tinyData } from '../tiny-data.js';

describe('adversarial robustness', () => {
  it('FGSM on a linear softmax model equals the closed form', async () => {
    await useBackend('cpu');
    const W = tf.randomNormal([6, 3], 0, 1, 'float32', 1);
    const xs = tf.randomUniform([5, 6], 0, 1, 'float32', 2);
    const ys = tf.oneHot(tf.tensor1d([0, 1, 2, 1, 0], 'int32'), 3);
    const logits = (x: tf.Tensor) => tf.matMul(x, W);
    const adv = fgsm(logits, xs, ys, { eps: 0.05 });
    // d CE / dx = (softmax(xW) - y) W^T / batch: its sign is that of (softmax - y) W^T.
    const want = tf.tidy(() =>
      tf.clipByValue(
        tf.add(
          xs,
          tf.mul(tf.sign(tf.matMul(tf.sub(tf.softmax(logits(xs)), ys), W, false, true)), 0.05),
        ),
        0,
        1,
      ),
    );
    assert.deepEqual(adv.dataSync(), want.dataSync());
    const p = pgd(logits, xs, ys, { eps: 0.05, steps: 5, seed: 3 });
    const dist = tf.max(tf.abs(tf.sub(p, xs))).dataSync()[0];
    assert.ok(dist <= 0.05 + 1e-6, `pgd left the ball: ${dist}`);
    assert.ok(tf.min(p).dataSync()[0] >= 0 && tf.max(p).dataSync()[0] <= 1);
    const loss = (x: tf.Tensor) => tf.losses.softmaxCrossEntropy(ys, logits(x)).dataSync()[0];
    assert.ok(loss(p) > loss(xs), 'pgd raises the loss');
    assert.ok(loss(p) >= loss(adv) - 1e-4, 'pgd is at least as strong as fgsm here');
    assert.throws(() => fgsm(logits, xs, ys, { eps: 0 }), /eps must be a positive number/);
    assert.throws(
      () => pgd(logits, xs, ys, { eps: 0.1, steps: 0 }),
      /steps must be a positive integer/,
    );
    tf.dispose([W, xs, ys, adv, want, p]);
  });

  it('robust accuracy through an ODE block: clean equals evaluate, attacks do not raise it, solvers are restored, no leaks', async () => {
    await useBackend('cpu');
    const data = tinyData([6], 96, 5, { testCount: 40 });
    const m = tf.sequential();
    m.add(tf.layers.dense({ inputShape: [6], units: 4 }));
    m.add(
      new OdeBlock({ solver: 'rk2', u: 0.5, steps: 2, gradient: 'adjoint', hidden: 6, seed: 1 }),
    );
    m.add(tf.layers.dense({ units: 3 }));
    m.compile({ optimizer: tf.train.adam(0.05), loss: 'categoricalCrossentropy' });
    const xs = tf.tensor(data.train.x, [96, 6]);
    const ys = tf.oneHot(tf.tensor1d(data.train.y, 'int32'), 3);
    const logitsModel = tf.sequential({ layers: [m, tf.layers.softmax()] });
    logitsModel.compile({ optimizer: tf.train.adam(0.05), loss: 'categoricalCrossentropy' });
    await logitsModel.fit(xs, ys, { epochs: 15, verbose: 0 });
    const before = tf.memory().numTensors;
    const clean = robustAccuracy(m, data, { attack: 'none' });
    assert.equal(clean, evaluate(m, data).accuracy);
    const attacked = robustAccuracy(m, data, {
      attack: 'pgd',
      eps: 0.3,
      clip: [-10, 10],
      pgd: { steps: 3 },
    });
    const f = robustAccuracy(m, data, { attack: 'fgsm', eps: 0.3, clip: [-10, 10] });
    // Per-sample correctness: deterministic for the same options (same PGD starts), its mean is
    // the accuracy, a count takes the first samples.
    const pgdOpts = {
      attack: 'pgd' as const,
      eps: 0.3,
      clip: [-10, 10] as [number, number],
      pgd: { steps: 3 },
    };
    const perSample = robustCorrect(m, data, pgdOpts);
    assert.equal(perSample.length, 40);
    assert.deepEqual(robustCorrect(m, data, pgdOpts), perSample);
    assert.equal(perSample.reduce((a, b) => a + b, 0) / 40, attacked);
    const firstClean = robustCorrect(m, data, { attack: 'none', count: 7, batchSize: 5 });
    assert.deepEqual(firstClean, robustCorrect(m, data, { attack: 'none' }).slice(0, 7));
    assert.throws(
      () => robustCorrect(m, data, { attack: 'none', count: 0 }),
      /count must be a positive integer, got 0/,
    );
    assert.ok(attacked <= clean && f <= clean, `clean ${clean}, fgsm ${f}, pgd ${attacked}`);
    const rows = accuracyBySolver(m, data, [{ steps: 2 }, { steps: 8 }, { u: 0.9 }], {
      attack: 'none',
    });
    assert.equal(rows.length, 3);
    assert.equal(rows[0].accuracy, clean);
    const block = odeBlocks(m)[0];
    assert.equal(block.solve.steps, 2);
    assert.equal(block.solve.u, 0.5);
    assert.equal(tf.memory().numTensors, before);
    tf.dispose([xs, ys]);
    logitsModel.dispose();
  });
});
