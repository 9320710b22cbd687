import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import {
  type AllocationItem,
  allocateBits,
  bruteForceAllocation,
} from '../../../src/compress/quantize/bit-allocation.js';
import { measureSensitivity } from '../../../src/compress/quantize/sensitivity.js';
import { makeRng } from '../../../src/engine/random.js';
import { buildModel } from '../../../src/models/zoo.js';
import { useBackend } from '../../helpers.js';

function randomItems(count: number, seed: number): AllocationItem[] {
  const rng = makeRng(seed);
  return Array.from({ length: count }, (_, i) => {
    const size = 1 + Math.floor(rng() * 20);
    return {
      name: `l${i}`,
      choices: [8, 4, 2].map((bits) => ({
        bits,
        cost: size * bits,
        loss: bits === 8 ? rng() * 0.01 : (rng() * 8) / bits ** 2,
      })),
    };
  });
}

describe('layer sensitivity', () => {
  it('measures loss increases that grow as bits shrink and leaves the weights as they were', async () => {
    await useBackend('cpu');
    const model = buildModel('mlp', { inputShape: [16], numClasses: 3, hidden: [32], seed: 1 });
    const before = model.getWeights().map((w) => w.dataSync().slice());
    const items = measureSensitivity(model, {
      candidates: [8, 4, 2],
      codecFor: (bits, base) => ({ ...base, bits }),
      layers: ['dense1', 'logits'],
      calibration: tf.randomNormal([64, 16], 0, 1, 'float32', 1),
    });
    const afterWeights = model.getWeights();
    for (let i = 0; i < afterWeights.length; i++) {
      assert.deepEqual(afterWeights[i].dataSync(), before[i]);
    }
    for (const it of items) {
      const [l8, l4, l2] = it.choices.map((c) => c.loss);
      assert.ok(l8 <= l4 && l4 <= l2 && l2 > 0, `${it.name}: ${l8} ${l4} ${l2}`);
      assert.ok(it.choices[0].cost > it.choices[1].cost && it.choices[1].cost > it.choices[2].cost);
    }
  });

  it('with labels, a softmax-output model measures the same cross-entropy as its logits twin', async () => {
    await useBackend('cpu');
    const twin = (activation?: 'softmax') =>
      tf.sequential({
        layers: [
          tf.layers.dense({
            units: 24,
            activation: 'relu',
            inputShape: [16],
            name: 'dense1',
            kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }),
          }),
          tf.layers.dense({
            units: 3,
            activation,
            name: 'logits',
            kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }),
          }),
        ],
      });
    const calibration = tf.randomNormal([64, 16], 0, 1, 'float32', 2);
    const labels = Int32Array.from({ length: 64 }, (_, i) => i % 3);
    const measure = (m: tf.LayersModel) =>
      measureSensitivity(m, {
        candidates: [4, 2],
        codecFor: (bits, base) => ({ ...base, bits }),
        layers: ['dense1', 'logits'],
        calibration,
        labels,
      }).flatMap((it) => it.choices.map((c) => c.loss));
    const logits = measure(twin());
    const probs = measure(twin('softmax'));
    assert.ok(
      logits.some((l) => l > 1e-4),
      `${logits}`,
    );
    for (let i = 0; i < logits.length; i++)
      assert.ok(
        Math.abs(probs[i] - logits[i]) < 1e-4 * Math.max(1, logits[i]),
        `${probs} vs ${logits}`,
      );
    calibration.dispose();
  });
});

describe('bit allocation (knapsack)', () => {
  it('equals brute force on small cases and respects the budget', () => {
    for (let s = 0; s < 40; s++) {
      const items = randomItems(2 + (s % 5), s);
      const least = items.reduce((t, it) => t + Math.min(...it.choices.map((c) => c.cost)), 0);
      const most = items.reduce((t, it) => t + Math.max(...it.choices.map((c) => c.cost)), 0);
      const budget = Math.floor(least + (most - least) * ((s % 7) / 7));
      const dp = allocateBits(items, budget, 1e6);
      const bf = bruteForceAllocation(items, budget);
      assert.ok(dp.cost <= budget);
      assert.ok(Math.abs(dp.loss - bf.loss) < 1e-12, `case ${s}: ${dp.loss} vs ${bf.loss}`);
    }
  });
  it('with coarse units it still respects the budget', () => {
    const items = randomItems(6, 99);
    const budget = 300;
    const dp = allocateBits(items, budget, 37);
    assert.ok(dp.cost <= budget);
    assert.ok(dp.loss >= bruteForceAllocation(items, budget).loss - 1e-12);
  });
  it('says when the budget is too small', () => {
    const items = randomItems(3, 1);
    const least = items.reduce((t, it) => t + Math.min(...it.choices.map((c) => c.cost)), 0);
    assert.throws(
      () => allocateBits(items, least - 1),
      /budget \d+ is too small, the smallest allocation needs \d+/,
    );
  });
});
