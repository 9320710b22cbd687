import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { gatherBatch } from '../../src/data/dataset.js';
import { keptCount, scoreSamples, swiftLearn } from '../../src/recipes/index.js';
import { train } from '../../src/train/loop.js';
import { tinyCnn } from '../tiny-models.js';
import { swiftLearnData, trainWithPlan } from './plan-train.js';

const data = swiftLearnData;
const sampled = {
  keep: 0.3,
  warmupEpochs: 1,
  every: 1,
  score: 'el2n' as const,
  select: 'sample' as const,
  balance: 'class' as const,
  redraw: true,
  mix: 0.2,
  weighted: true,
};

/** Trains `epochs` epochs with the plan and its hooks; returns the steps of each epoch. */
async function run(
  model: tf.LayersModel,
  plan: ReturnType<typeof swiftLearn>,
  epochs: number,
  lr = 0.01,
) {
  const optimizer = tf.train.sgd(lr);
  const { epochSteps } = await trainWithPlan(
    model,
    data(),
    { epochs },
    { optimizer, batchPlan: plan, hooks: plan.hooks },
  );
  optimizer.dispose();
  return epochSteps;
}

describe('recipes: SwiftLearn annealed keep and cached scores', () => {
  it('anneal: the kept share falls linearly from 1 to keep over the anneal epochs', () => {
    const d = data();
    const model = tinyCnn([2, 3], 8, 1);
    const sl = swiftLearn(model, { ...sampled, every: 3, anneal: 2 });
    const sizes = [1, 2, 3, 4, 5].map((e) => sl.epochRows?.(e, d)?.length ?? d.train.count);
    // Epoch 2: 1 - 0.7 / 2 = 0.65; epoch 3 on: 0.3.
    assert.deepEqual(sizes, [40, keptCount(40, 0.65), 12, 12, 12]);
    assert.deepEqual(sl.state.keptShares, [0.65, 0.3, 0.3, 0.3]);
    assert.deepEqual(sl.state.drawnAt, [2, 3, 4, 5]);
    assert.deepEqual(sl.state.scoredAt, [2, 5], 'scoring stays every 3 epochs');
    model.dispose();
  });

  it('anneal: errors name the field', () => {
    const model = tinyCnn([2, 3], 8, 1);
    assert.throws(
      () => swiftLearn(model, { ...sampled, anneal: 1.5 }),
      /anneal must be an integer/,
    );
    assert.throws(() => swiftLearn(model, { ...sampled, anneal: -1 }), /anneal must be an integer/);
    assert.throws(
      () => swiftLearn(model, { ...sampled, redraw: false, anneal: 3 }),
      /anneal .*set redraw/,
    );
    model.dispose();
  });

  it('cachedScores: at a rate of 0 the cached scores are the scoring pass, weighted or not', async () => {
    for (const weighted of [false, true])
      for (const score of ['el2n', 'loss'] as const) {
        const model = tinyCnn([2, 3], 8, 1);
        const sl = swiftLearn(model, { ...sampled, weighted, score, cachedScores: true, every: 1 });
        // Epoch 2 scores from the warm-up's steps, epoch 3 from the cache again (the weighted
        // kept epoch scaled the targets: the cache takes the unweighted ones).
        await run(model, sl, 3, 0);
        const want = scoreSamples(model, data(), score);
        const got = sl.state.scores as Float32Array;
        for (let i = 0; i < want.length; i++)
          assert.ok(Math.abs(got[i] - want[i]) < 1e-5, `${score} weighted ${weighted} row ${i}`);
        assert.deepEqual(sl.state.scoredAt, [2, 3]);
        model.dispose();
      }
  });

  it('cachedScores: a row not trained on since the last scoring keeps its score exactly', async () => {
    const d = data();
    const model = tinyCnn([2, 3], 8, 1);
    const sl = swiftLearn(model, { ...sampled, cachedScores: true, every: 1 });
    await run(model, sl, 2, 0.05);
    const kept = new Set(sl.state.kept);
    const before = Float32Array.from(sl.state.scores as Float32Array);
    sl.epochRows?.(3, d); // a scoring: the cache after epoch 2's steps
    const after = sl.state.scores as Float32Array;
    let moved = 0;
    for (let i = 0; i < before.length; i++)
      if (kept.has(i)) moved = Math.max(moved, Math.abs(after[i] - before[i]));
      else assert.equal(after[i], before[i], `row ${i} was not trained on`);
    assert.ok(moved > 1e-4, 'trained rows have new scores');
    // The cache is no scoring pass: the scores are not those at the current weights.
    const pass = scoreSamples(model, d, 'el2n');
    assert.ok(after.some((x, i) => Math.abs(x - pass[i]) > 1e-4));
    model.dispose();
  });

  it('cachedScores: no leaks across steps', async () => {
    const model = tinyCnn([2, 3], 8, 1);
    const sl = swiftLearn(model, { ...sampled, cachedScores: true });
    await run(model, sl, 1);
    const n0 = tf.memory().numTensors;
    await run(model, sl, 3);
    assert.equal(tf.memory().numTensors, n0);
    model.dispose();
  });

  it('cachedScores: errors for a batch without its rows and for a plan run without its hooks', async () => {
    const d = data();
    const model = tinyCnn([2, 3], 8, 1);
    const sl = swiftLearn(model, { ...sampled, weighted: false, cachedScores: true });
    const idx = Int32Array.from({ length: 8 }, (_, i) => i);
    const b = gatherBatch(d.train, d.sampleShape, d.numClasses, idx, 0, 8);
    assert.throws(
      () => sl.transform?.({ ...b, rows: undefined }, 0),
      /cachedScores: .*Batch\.rows/,
    );
    tf.dispose([b.xs, b.ys]);
    // Trained without the hooks, the cache stays empty: the first scoring says so.
    const m2 = tinyCnn([2, 3], 8, 1);
    const sl2 = swiftLearn(m2, { ...sampled, weighted: false, cachedScores: true });
    await assert.rejects(
      train(m2, d, { epochs: 2, batchSize: 8, seed: 1, measureMemory: false }, { batchPlan: sl2 }),
      /cachedScores: the plan's loss hook has not run/,
    );
    model.dispose();
    m2.dispose();
  });
});
