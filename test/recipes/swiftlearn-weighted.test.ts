import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { gatherBatch } from '../../src/data/dataset.js';
import { makeRng } from '../../src/engine/random.js';
import {
  classQuotas,
  drawWithReplacement,
  labelSmoothingLoss,
  mixedWeights,
  smoothLabels,
  swiftLearn,
  weightedDraw,
  weightedTargetsLoss,
  weightTargets,
} from '../../src/recipes/index.js';
import { train } from '../../src/train/loop.js';
import { lossByName } from '../../src/train/loss.js';
import { tinyCnn } from '../tiny-models.js';
import { swiftLearnData, trainWithPlan } from './plan-train.js';

const data = swiftLearnData;

describe('recipes: SwiftLearn mix and importance weights', () => {
  it('mixedWeights: mean 1 in each class, at least mix, uniform for an all-zero class', () => {
    const labels = Int32Array.from([0, 0, 0, 1, 1, 2, 2]);
    const scores = Float32Array.from([1, 2, 5, 0, 4, 0, 0]);
    const a = mixedWeights(scores, 0.25, labels, 3);
    const meanOf = (c: number) => {
      const xs = Array.from(a).filter((_, i) => labels[i] === c);
      return xs.reduce((p, q) => p + q, 0) / xs.length;
    };
    for (const c of [0, 1, 2]) assert.ok(Math.abs(meanOf(c) - 1) < 1e-6, `class ${c}`);
    for (const x of a) assert.ok(x >= 0.25 - 1e-7);
    // Class 0: 0.75 * s / (8/3) + 0.25.
    assert.ok(Math.abs(a[2] - (0.75 * 5 * 3) / 8 - 0.25) < 1e-6);
    assert.deepEqual(Array.from(a.slice(5)), [1, 1]);
    // mix 1 is uniform; mix 0 is the scores over their mean.
    assert.deepEqual(Array.from(mixedWeights(scores, 1, labels, 3)), [1, 1, 1, 1, 1, 1, 1]);
    assert.throws(() => mixedWeights(scores, 2), /mix must be in \[0, 1\]/);
    assert.throws(() => mixedWeights(Float32Array.from([1, -1]), 0), /need >= 0/);
  });

  it('draws with replacement in proportion to the weights', () => {
    const w = Float32Array.from([1, 2, 3, 4, 100]);
    const rows = [0, 1, 2, 3]; // row 4 is not a candidate
    const n = 40000;
    const hits = [0, 0, 0, 0, 0];
    for (const r of drawWithReplacement(rows, w, n, makeRng(9))) hits[r]++;
    assert.equal(hits[4], 0);
    rows.forEach((r) => {
      const p = w[r] / 10;
      const sd = Math.sqrt((p * (1 - p)) / n);
      assert.ok(Math.abs(hits[r] / n - p) < 4 * sd, `row ${r}: ${hits[r] / n} vs ${p}`);
    });
  });

  it('the weighted draw is unbiased: E[mean of w_i v_i over the drawn rows] = the mean of v', () => {
    // 30 rows, 3 classes of 10 (quotas of keep 0.3 exact: 3 each), scores spread 100-fold.
    const labels = Int32Array.from({ length: 30 }, (_, i) => i % 3);
    const scores = Float32Array.from({ length: 30 }, (_, i) => 0.05 + ((i * 7) % 30) / 3);
    const v = Float64Array.from(scores, (s, i) => s + Math.sin(i));
    const target = v.reduce((p, q) => p + q, 0) / 30;
    const rng = makeRng(11);
    for (const o of [{ labels, numClasses: 3 }, {}]) {
      const trials = 4000;
      const est: number[] = [];
      let unweighted = 0;
      for (let t = 0; t < trials; t++) {
        const d = weightedDraw(scores, 0.3, { mix: 0.2, rng, ...o });
        assert.equal(d.rows.length, 9);
        est.push(Array.from(d.rows).reduce((p, r) => p + d.weights[r] * v[r], 0) / d.rows.length);
        unweighted += Array.from(d.rows).reduce((p, r) => p + v[r], 0) / d.rows.length / trials;
      }
      const m = est.reduce((p, q) => p + q, 0) / trials;
      const sd = Math.sqrt(est.reduce((p, q) => p + (q - m) ** 2, 0) / (trials - 1));
      const se = sd / Math.sqrt(trials);
      assert.ok(Math.abs(m - target) < 4 * se, `mean ${m} vs ${target} (SE ${se})`);
      // The draw favours high-score rows; the weights undo it (the unweighted mean is biased).
      assert.ok(
        Math.abs(unweighted - target) > 10 * se,
        `the test tells a biased draw: ${unweighted}`,
      );
    }
    // Class quotas hold for a class-balanced draw.
    const d = weightedDraw(scores, 0.3, { mix: 0.2, rng, labels, numClasses: 3 });
    const counts = [0, 1, 2].map((c) => Array.from(d.rows).filter((r) => labels[r] === c).length);
    assert.deepEqual(counts, classQuotas(labels, 3, 0.3));
    assert.throws(
      () => weightedDraw(Float32Array.from([0, 1, 2]), 0.5, { mix: 0, rng }),
      /set mix above 0/,
    );
  });

  it('the weighted loss is the mean of w_i times each row loss, in value and gradient', () => {
    const logits = tf.tensor2d([
      [1, 2, 0.5],
      [0, -1, 3],
      [2, 2, 2],
    ]);
    const onehot = tf.oneHot(tf.tensor1d([1, 2, 0], 'int32'), 3).toFloat() as tf.Tensor2D;
    const w = tf.tensor1d([0.5, 2, 1.25]);
    const scaled = tf.mul(onehot, tf.expandDims(w, -1));
    const base = lossByName('logits');
    const lw = weightedTargetsLoss(base);
    // Reference: per-row softmax cross-entropy by hand, weighted, averaged over the 3 rows.
    const ref = (z: tf.Tensor) =>
      tf.mean(tf.mul(w, tf.neg(tf.sum(tf.mul(onehot, tf.logSoftmax(z)), -1)))) as tf.Scalar;
    const got = tf.grad((z: tf.Tensor) => lw.mean(scaled, z))(logits);
    const want = tf.grad(ref)(logits);
    // The value is the unweighted loss (what the loop reports); the gradient the weighted one.
    const unweighted = base.mean(onehot, logits).dataSync()[0];
    assert.ok(Math.abs(lw.mean(scaled, logits).dataSync()[0] - unweighted) < 1e-6);
    assert.ok(Math.abs(lw.sum(scaled, logits).dataSync()[0] - 3 * unweighted) < 1e-5);
    const gotSum = tf.grad((z: tf.Tensor) => lw.sum(scaled, z))(logits);
    assert.ok(tf.max(tf.abs(tf.sub(gotSum, tf.mul(want, 3)))).dataSync()[0] < 1e-5);
    const diff = tf.max(tf.abs(tf.sub(got, want))).dataSync()[0];
    assert.ok(diff < 1e-6, `gradient off by ${diff}`);
    // tfjs's own loss on scaled targets has another gradient (softmax - y): what the hook fixes.
    const plain = tf.grad((z: tf.Tensor) => base.mean(scaled, z))(logits);
    assert.ok(tf.max(tf.abs(tf.sub(plain, want))).dataSync()[0] > 0.05);
    // Weight-1 targets give the base loss.
    assert.ok(
      Math.abs(lw.mean(onehot, logits).dataSync()[0] - base.mean(onehot, logits).dataSync()[0]) <
        1e-6,
    );
    // Any base: label-smoothed cross-entropy around the weights gets the weighted smoothed gradient.
    const smooth = labelSmoothingLoss(base, 0.2);
    const refLs = (z: tf.Tensor) =>
      tf.mean(
        tf.mul(w, tf.neg(tf.sum(tf.mul(smoothLabels(onehot, 0.2), tf.logSoftmax(z)), -1))),
      ) as tf.Scalar;
    const gotLs = tf.grad((z: tf.Tensor) => weightedTargetsLoss(smooth).mean(scaled, z))(logits);
    const wantLs = tf.grad(refLs)(logits);
    assert.ok(tf.max(tf.abs(tf.sub(gotLs, wantLs))).dataSync()[0] < 1e-6);
    tf.dispose([logits, onehot, w, scaled, got, gotSum, want, plain, gotLs, wantLs]);
  });

  it('weightTargets scales each row of the one-hot targets; a batch without rows is refused', () => {
    const d = data();
    const b = gatherBatch(d.train, d.sampleShape, d.numClasses, [4, 7, 1], 0, 3);
    assert.deepEqual(Array.from(b.rows ?? []), [4, 7, 1]);
    const weights = Float32Array.from({ length: 40 }, (_, i) => i / 2);
    const w = weightTargets(b, weights);
    const ys = w.ys.arraySync();
    const base = b.ys.arraySync();
    [4, 7, 1].forEach((r, i) => {
      assert.deepEqual(
        ys[i],
        base[i].map((x) => x * (r / 2)),
      );
    });
    assert.throws(() => weightTargets({ ...b, rows: undefined }, weights), /Batch\.rows/);
    tf.dispose([b.xs, b.ys, w.xs, w.ys]);
  });

  it('a weighted plan trains on drawn rows with their weights, without leaks', async () => {
    const d = data();
    const model = tinyCnn([2, 3], 8, 1);
    const weighted = {
      keep: 0.5,
      warmupEpochs: 1,
      every: 2,
      score: 'el2n',
      select: 'sample',
      balance: 'class',
      mix: 0.5,
      weighted: true,
    } as const;
    const sl = swiftLearn(model, { ...weighted, redraw: true, seed: 2 });
    const scales: number[][] = [];
    const transform = sl.transform;
    assert.ok(transform);
    const before = tf.memory().numTensors;
    const { epochSteps } = await trainWithPlan(
      model,
      d,
      { epochs: 4 },
      {
        hooks: sl.hooks,
        batchPlan: {
          ...sl,
          transform: (b, step) => {
            const out = transform(b, step);
            const t = out.ys.sum(-1);
            scales.push(t.arraySync() as number[]);
            t.dispose();
            return out;
          },
        },
      },
    );
    assert.equal(tf.memory().numTensors, before);
    // 40 rows / 8 = 5 warm-up steps; 20 drawn rows / 8 = 3 steps after.
    assert.deepEqual(epochSteps, [5, 3, 3, 3]);
    assert.deepEqual(sl.state.scoredAt, [2, 4]);
    // Warm-up targets are one-hot; later each row's target sums to its weight 1 / a_i in [1/1.5.., 2].
    for (const s of scales.slice(0, 5)) for (const x of s) assert.ok(Math.abs(x - 1) < 1e-6);
    const later = scales.slice(5).flat();
    assert.ok(later.some((x) => Math.abs(x - 1) > 1e-3));
    for (const x of later) assert.ok(x > 0 && x <= 2 + 1e-5, `weight ${x}`);
    assert.equal(sl.state.weights?.length, 40);
    // Without the plan's loss hook the weighted targets would train wrong: refused.
    const bare = swiftLearn(model, weighted);
    await assert.rejects(
      train(model, d, { epochs: 2, batchSize: 8, measureMemory: false }, { batchPlan: bare }),
      /loss hook has not run/,
    );
    assert.throws(
      () =>
        swiftLearn(model, {
          keep: 0.5,
          warmupEpochs: 1,
          every: 2,
          score: 'el2n',
          select: 'top',
          balance: 'class',
          weighted: true,
        }),
      /weighted applies to select 'sample'/,
    );
    model.dispose();
  });
});
