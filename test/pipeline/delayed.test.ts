import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import type { Batch } from '../../src/data/dataset.js';
import { buildModel } from '../../src/models/zoo.js';
import { delayedGradients } from '../../src/pipeline/delayed.js';
import { trainStep } from '../../src/train/step.js';
import { maxAbsDiff, normalBatch, useBackend } from '../helpers.js';

before(() => useBackend('cpu'));

const batchOf = (rows: number, seed: number): Batch =>
  normalBatch([4], rows, 3, seed, (i) => (i + seed) % 3);

/** The gradient of the mean loss of `b` at the model's current weights, flattened per weight. */
function gradAt(model: tf.LayersModel, b: Batch): Float32Array[] {
  const sgd = tf.train.sgd(1);
  const w0 = model.weights.map((w) => w.read().clone());
  trainStep({ model, optimizer: sgd }, b);
  const g = model.weights.map((w, i) => tf.sub(w0[i], w.read()).dataSync() as Float32Array);
  model.setWeights(w0);
  tf.dispose(w0);
  sgd.dispose();
  return g;
}

test('delayedGradients(1): each step differentiates at the weights one step old (2BW rule)', () => {
  const model = buildModel('mlp', { inputShape: [4], numClasses: 3, hidden: [5], seed: 1 });
  const data = [batchOf(6, 1), batchOf(6, 2), batchOf(6, 3)];
  const w0 = model.weights.map((w) => w.read().dataSync().slice() as Float32Array);
  // By hand: W1 = W0 - g(W0; b0), W2 = W1 - g(W0; b1), W3 = W2 - g(W1; b2).
  const g0 = gradAt(model, data[0]);
  const g1 = gradAt(model, data[1]);
  const w1 = w0.map((w, i) => w.map((x, k) => x - g0[i][k]));
  model.setWeights(w1.map((w, i) => tf.tensor(w, model.weights[i].read().shape)));
  const g2 = gradAt(model, data[2]);
  const w3 = w1.map((w, i) => w.map((x, k) => x - g1[i][k] - g2[i][k]));
  model.setWeights(w0.map((w, i) => tf.tensor(w, model.weights[i].read().shape)));
  const before = tf.memory().numTensors;
  const d = delayedGradients(1);
  const sgd = tf.train.sgd(1);
  for (const b of data) trainStep({ model, optimizer: sgd, hooks: d.hooks }, b);
  d.dispose();
  sgd.dispose();
  assert.equal(tf.memory().numTensors, before, 'the hook leaked tensors');
  model.weights.forEach((w, i) => {
    const diff = maxAbsDiff(w.read(), w3[i]);
    assert.ok(diff < 1e-5, `weight ${i} differs from the hand-computed one by ${diff}`);
  });
  assert.throws(() => delayedGradients(-1), /delay must be a non-negative integer/);
  tf.dispose(data.flatMap((b) => [b.xs, b.ys]));
  model.dispose();
});
