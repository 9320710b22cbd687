import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { ConfigError } from '../../src/config/index.js';
import { dataRecipeConfig, scoreSamples, swiftLearn } from '../../src/recipes/index.js';
import { tinyData } from '../tiny-data.js';
import { tinyCnn } from '../tiny-models.js';
import { trainWithPlan } from './plan-train.js';

const data = () => tinyData([8, 8, 1], 40, 3, { testCount: 24 });
const cfg = {
  keep: 0.3,
  warmupEpochs: 2,
  every: 1,
  score: 'el2n' as const,
  select: 'top' as const,
  balance: 'class' as const,
};

describe('recipes: SwiftLearn sub-epoch warm-up and averaged scores', () => {
  it('warmupKeep: each warm-up epoch a fresh class-balanced share of the rows, then scoring as before', async () => {
    const d = data();
    const model = tinyCnn([2, 3], 8, 1);
    const sl = swiftLearn(model, { ...cfg, warmupKeep: 0.5, seed: 4 });
    const rows: number[][] = [];
    const warm = [1, 2].map((e) => Array.from(sl.epochRows?.(e, d) ?? []));
    rows.push(...warm);
    for (const r of warm) {
      assert.equal(r.length, 20);
      assert.equal(new Set(r).size, 20, 'no row twice');
      const counts = [0, 1, 2].map((c) => r.filter((i) => d.train.y[i] === c).length);
      const all = [0, 1, 2].map((c) => Array.from(d.train.y).filter((y) => y === c).length);
      for (const c of [0, 1, 2]) assert.ok(Math.abs(counts[c] - all[c] / 2) <= 1, `class ${c}`);
    }
    assert.notDeepEqual(warm[0], warm[1], 'a fresh draw each warm-up epoch');
    assert.deepEqual(sl.state.scoredAt, [], 'no scoring in the warm-up');
    // The plan in the loop: 20 rows / 8 = 3 steps in each warm-up epoch, then 12 kept rows.
    const m2 = tinyCnn([2, 3], 8, 1);
    const sl2 = swiftLearn(m2, { ...cfg, warmupKeep: 0.5, seed: 4 });
    const before = tf.memory().numTensors;
    const { epochSteps } = await trainWithPlan(m2, d, { epochs: 4 }, { batchPlan: sl2 });
    assert.equal(tf.memory().numTensors, before);
    assert.deepEqual(epochSteps, [3, 3, 2, 2]);
    assert.deepEqual(sl2.state.scoredAt, [3, 4]);
    model.dispose();
    m2.dispose();
  });

  it('average: each scoring keeps that share of the previous scores', () => {
    const d = data();
    const model = tinyCnn([2, 3], 8, 1);
    const sl = swiftLearn(model, { ...cfg, warmupEpochs: 1, average: 0.75 });
    sl.epochRows?.(2, d);
    const first = Float32Array.from(sl.state.scores as Float32Array);
    assert.deepEqual(first, scoreSamples(model, d, 'el2n'), 'the first scoring is the scores');
    // Move the weights, score again: 0.75 old + 0.25 new.
    for (const w of model.trainableWeights) {
      const v = w.read() as tf.Variable;
      v.assign(tf.tidy(() => tf.mul(v, 1.7)));
    }
    const fresh = scoreSamples(model, d, 'el2n');
    sl.epochRows?.(3, d);
    const got = sl.state.scores as Float32Array;
    let moved = 0;
    for (let i = 0; i < got.length; i++) {
      assert.ok(Math.abs(got[i] - (0.75 * first[i] + 0.25 * fresh[i])) < 1e-6, `row ${i}`);
      moved = Math.max(moved, Math.abs(fresh[i] - first[i]));
    }
    assert.ok(moved > 1e-3, 'the test moves the scores');
    model.dispose();
  });

  it('names bad values', () => {
    const model = tinyCnn([2, 3], 8, 1);
    assert.throws(() => swiftLearn(model, { ...cfg, average: 1 }), /average must be in \[0, 1\)/);
    assert.throws(() => swiftLearn(model, { ...cfg, warmupKeep: 0 }), /warmupKeep must be in/);
    assert.throws(
      () => dataRecipeConfig({ swiftlearn: { keep: 0.3, warmupKeep: 1.5 } }),
      (e: unknown) => e instanceof ConfigError && /warmupKeep/.test(String(e)),
    );
    assert.throws(
      () => dataRecipeConfig({ swiftlearn: { keep: 0.3, average: -0.1 } }),
      (e: unknown) => e instanceof ConfigError && /average/.test(String(e)),
    );
    const c = dataRecipeConfig({ swiftlearn: { keep: 0.3 } }).swiftlearn;
    assert.equal(c?.average, 0);
    assert.equal(c?.warmupKeep, 1);
    model.dispose();
  });
});
