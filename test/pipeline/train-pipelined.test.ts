import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { buildModel } from '../../src/models/zoo.js';
import { trainPipelined } from '../../src/pipeline/train-pipelined.js';
import { train } from '../../src/train/loop.js';
import { maxAbsDiff, useBackend } from '../helpers.js';
import { tinyData } from '../tiny-data.js';

const data = tinyData([6], 48, 4, { testCount: 24 });
const config = {
  epochs: 2,
  batchSize: 12,
  learningRate: 0.2,
  optimizer: 'sgd' as const,
  seed: 3,
  measureMemory: false,
};
const mlp = () => buildModel('mlp', { inputShape: [6], numClasses: 3, hidden: [12, 8], seed: 9 });

describe('trainPipelined', () => {
  before(() => useBackend('wasm'));
  after(() => tf.disposeVariables());

  it("with the 'flush' schedule follows train() step for step", async () => {
    const single = mlp();
    const ref = await train(single, data, config);
    const model = mlp();
    const before = tf.memory().numTensors;
    const run = await trainPipelined(model, data, config, {
      stages: 2,
      microbatches: 3,
      schedule: 'flush',
      runner: 'in-process',
    });
    assert.equal(tf.memory().numTensors, before, 'tensors leaked');
    assert.equal(run.steps, ref.steps);
    ref.history.forEach((h, i) => {
      assert.ok(Math.abs(h.meanLoss - run.history[i].meanLoss) < 1e-5, `epoch ${i + 1} loss`);
      assert.equal(run.history[i].testAccuracy, h.testAccuracy);
    });
    const diff = Math.max(
      ...model.weights.map((w, i) => maxAbsDiff(w.read(), single.weights[i].read())),
    );
    assert.ok(diff < 1e-5, `weights differ by ${diff}`);
    single.dispose();
    model.dispose();
  });

  it('with 2BW on worker threads learns, and its weights come back to the model', async () => {
    const model = mlp();
    const start = model.weights.map((w) => w.read().clone());
    const run = await trainPipelined(model, data, { ...config, epochs: 3 }, { stages: 2 });
    assert.ok(
      run.history[2].meanLoss < run.history[0].meanLoss,
      `loss did not fall: ${run.history.map((h) => h.meanLoss)}`,
    );
    const moved = Math.max(...model.weights.map((w, i) => maxAbsDiff(w.read(), start[i])));
    assert.ok(moved > 1e-3, 'the model in this thread did not get the trained weights');
    tf.dispose(start);
    model.dispose();
  });
});
