import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { averageMerge, convKernelLeft, fsMerge, kernelRight } from '../../src/lowrank/fs-merge.js';
import { maxAbsDiff, useBackend, weightsOf } from '../helpers.js';
import { tinyCnn } from '../tiny-models.js';
import { assertWeights, averageWeights, checkUntrainedMerge } from './untrained-merge.js';

// zoo CNN: conv1, conv2, pool, flatten, dense1, logits
const cnn = (seed: number) => tinyCnn([4, 6], 5, seed);

test('convKernelLeft / kernelRight: conv2d(x U, K) = conv2d(x, U K) and conv2d(x, K) M = conv2d(x, K M)', () => {
  const x = tf.randomNormal([2, 7, 7, 4], 0, 1, 'float32', 1) as tf.Tensor4D;
  const k = tf.randomNormal([3, 2, 4, 5], 0, 1, 'float32', 2) as tf.Tensor4D;
  const u = tf.randomNormal([4, 4], 0, 1, 'float32', 3) as tf.Tensor2D;
  const m = tf.randomNormal([5, 3], 0, 1, 'float32', 4) as tf.Tensor2D;
  const xu = tf.reshape(
    tf.matMul(tf.reshape(x, [-1, 4]) as tf.Tensor2D, u),
    x.shape,
  ) as tf.Tensor4D;
  const left = tf.conv2d(xu, k, [2, 1], 'same');
  const folded = tf.conv2d(
    x,
    convKernelLeft(k, (w) => tf.matMul(u, w)),
    [2, 1],
    'same',
  );
  assert.ok(maxAbsDiff(left, folded) < 1e-4, `left: ${maxAbsDiff(left, folded)}`);
  const y = tf.conv2d(x, k, 1, 'valid');
  const right = tf.reshape(tf.matMul(tf.reshape(y, [-1, 5]) as tf.Tensor2D, m), [
    ...y.shape.slice(0, 3),
    3,
  ]);
  const kr = kernelRight(k, (w) => tf.matMul(w, m));
  assert.deepEqual(kr.shape, [3, 2, 4, 3]);
  const foldedR = tf.conv2d(x, kr as tf.Tensor4D, 1, 'valid');
  assert.ok(maxAbsDiff(right, foldedR) < 1e-4, `right: ${maxAbsDiff(right, foldedR)}`);
  assert.throws(() => convKernelLeft(u, (w) => w), /kernel must be rank 4/);
  tf.dispose([x, k, u, m, xu, left, folded, y, right, kr, foldedR]);
});

test('FS-Merge of CNNs: "first" init folds back to model 1 exactly, "average" to the weight average', async () => {
  await checkUntrainedMerge(cnn, [8, 8, 1], 1, { init: 'first' }, (a, _b, first) => {
    assertWeights(first, weightsOf(a), 'first');
    assert.deepEqual(
      first.layers.map((l) => l.getClassName()),
      a.layers.map((l) => l.getClassName()),
    );
  });
  await checkUntrainedMerge(cnn, [8, 8, 1], 1, { init: 'average' }, (a, b, avg) => {
    const plain = averageMerge(a, b);
    for (const m of [avg, plain]) assertWeights(m, averageWeights(a, b), 'average');
    plain.dispose();
  });
});

test('FS-Merge of CNNs trains on feature reconstruction (loss falls), folds into a plain CNN, leaks nothing', async () => {
  await useBackend('cpu');
  const a = cnn(3);
  const b = cnn(4);
  const samples = tf.randomUniform([24, 8, 8, 1], 0, 1, 'float32', 5);
  const before = tf.memory().numTensors;
  const r = fsMerge(a, b, samples, {
    steps: 40,
    batchSize: 8,
    rank: 2,
    learningRate: 1e-2,
    seed: 1,
  });
  assert.deepEqual(r.terms, [
    'input of conv2',
    'input of dense1',
    'input of logits',
    'output (shared head)',
  ]);
  assert.deepEqual(r.ranks, { conv1: 2, conv2: 2, dense1: 2, logits: 2 });
  const head = r.losses.slice(0, 5).reduce((s, v) => s + v) / 5;
  const tail = r.losses.slice(-5).reduce((s, v) => s + v) / 5;
  assert.ok(tail < head * 0.9, `loss ${head} -> ${tail}`);
  // a plain model of the original architecture
  assert.deepEqual(
    r.model.getWeights().map((w) => w.shape),
    a.getWeights().map((w) => w.shape),
  );
  assert.equal(r.model.layers.filter((l) => l.getClassName() === 'Conv2D').length, 2);
  const nModel = r.model.getWeights().length;
  assert.equal(tf.memory().numTensors - before, nModel, 'only the merged model remains');
  // separate heads: the logits layer holds both heads side by side
  const sep = fsMerge(a, b, samples, { heads: 'separate', steps: 2, batchSize: 8, rank: 2 });
  const y = sep.model.predict(samples) as tf.Tensor;
  assert.deepEqual(y.shape, [24, 6]);
  tf.dispose([samples, y]);
  for (const m of [r.model, sep.model, a, b]) m.dispose();
});
