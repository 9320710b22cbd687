import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { ConfigError } from '../../src/config/index.js';
import {
  averageMerge,
  checkFsMergeOptions,
  type FsMergeOptions,
  fsMerge,
  pairModel,
} from '../../src/lowrank/fs-merge.js';
import { buildModel } from '../../src/models/zoo.js';
import { useBackend, weightsOf } from '../helpers.js';
import { tinyCnn } from '../tiny-models.js';
import {
  assertWeights,
  averageWeights,
  checkUntrainedMerge,
  type MergeCheck,
} from './untrained-merge.js';

const mlp = (seed: number, hidden = [8, 6], inputShape = [4, 4, 1]) =>
  buildModel('mlp', { inputShape, numClasses: 3, hidden, seed });

const untrained = (seed: number, options: FsMergeOptions, check: MergeCheck) =>
  checkUntrainedMerge(mlp, [4, 4, 1], seed, options, check);

test('FS-Merge "first" initialisation folds back to model 1 exactly (shared head)', () =>
  untrained(1, { init: 'first' }, (a, _b, model) => {
    assertWeights(model, weightsOf(a), 'first');
    assert.deepEqual(
      model.layers.map((l) => l.name),
      a.layers.map((l) => l.name),
    );
  }));

test('FS-Merge "average" initialisation folds back to the weight average exactly; averageMerge too', () =>
  untrained(3, { init: 'average' }, (a, b, model) => {
    const avg = averageMerge(a, b);
    for (const m of [model, avg]) assertWeights(m, averageWeights(a, b), 'average');
    avg.dispose();
  }));

test('FS-Merge separate heads: body of model 1, both heads side by side (outputs = [a(x), b head on a body])', () =>
  untrained(5, { init: 'first', heads: 'separate' }, (a, b, model) => {
    assert.deepEqual(model.outputs[0].shape, [null, 6]);
    const x = tf.randomNormal([5, 4, 4, 1], 0, 1, 'float32', 7);
    const y = model.predict(x) as tf.Tensor;
    const ya = a.predict(x) as tf.Tensor;
    // b's head on a's last hidden features
    const body = tf.model({ inputs: a.inputs, outputs: a.getLayer('dense2').output });
    const [k, bias] = b.getLayer('logits').getWeights();
    const yb = tf.add(tf.matMul(body.predict(x) as tf.Tensor2D, k as tf.Tensor2D), bias);
    const [y1, y2] = tf.split(y, 2, 1);
    assert.deepEqual(Array.from(y1.dataSync()), Array.from(ya.dataSync()));
    assert.ok(tf.max(tf.abs(tf.sub(y2, yb))).dataSync()[0] < 1e-5);
    tf.dispose([x, y, ya, yb, y1, y2]);
  }));

test('FS-Merge training lowers the feature-reconstruction loss, leaks no tensors, keeps the inputs', async () => {
  await useBackend('cpu');
  const a = mlp(8, [8, 8], [6]);
  const b = mlp(9, [8, 8], [6]);
  const wb = weightsOf(b);
  const samples = tf.randomNormal([64, 6], 0, 1, 'float32', 10);
  const run = (steps: number) =>
    fsMerge(a, b, samples, { steps, rank: 4, batchSize: 16, learningRate: 1e-2, seed: 1 });
  const warm = run(2);
  warm.model.dispose();
  const n0 = tf.memory().numTensors;
  const r = run(60);
  assert.equal(tf.memory().numTensors - n0, r.model.weights.length);
  assert.equal(r.losses.length, 60);
  assert.deepEqual(r.terms, ['input of dense2', 'input of logits', 'output (shared head)']);
  assert.deepEqual(r.ranks, { dense1: 4, dense2: 4, logits: 3 });
  const first = r.losses.slice(0, 5).reduce((s, v) => s + v, 0) / 5;
  const last = r.losses.slice(-5).reduce((s, v) => s + v, 0) / 5;
  assert.ok(last < 0.8 * first, `loss ${first} -> ${last}`);
  weightsOf(b).forEach((w, i) => {
    assert.deepEqual(Array.from(w), Array.from(wb[i]));
  });
  // the merged model is a plain model of the original architecture
  assert.deepEqual(
    r.model.layers.map((l) => l.getClassName()),
    a.layers.map((l) => l.getClassName()),
  );
  r.model.dispose();
  samples.dispose();
  a.dispose();
  b.dispose();
});

test('pairModel outputs [a(x), b(x)]', async () => {
  await useBackend('cpu');
  const a = mlp(11);
  const b = mlp(12);
  const p = pairModel(a, b);
  const x = tf.randomNormal([3, 4, 4, 1], 0, 1, 'float32', 1);
  const y = p.predict(x) as tf.Tensor;
  const want = tf.concat([a.predict(x) as tf.Tensor, b.predict(x) as tf.Tensor], 1);
  assert.ok(tf.max(tf.abs(tf.sub(y, want))).dataSync()[0] < 1e-6);
  // merging still works on models that were applied inside another model
  const { model } = fsMerge(a, b, tf.zeros([0, 4, 4, 1]), { steps: 0 });
  model.dispose();
  tf.dispose([x, y, want]);
  a.dispose();
  b.dispose();
});

test('FS-Merge bad input: different architectures, non-Dense weights, rank, samples, config', async () => {
  await useBackend('cpu');
  const a = mlp(1);
  const none = tf.zeros([0, 4, 4, 1]);
  const wider = mlp(2, [8, 7]);
  assert.throws(
    () => fsMerge(a, wider, none, { steps: 0 }),
    /different architectures at layer 3: 'dense2' Dense relu \[8,6\] \[6\] in the first model, 'dense2' Dense relu \[8,7\] \[7\] in the second/,
  );
  const deeper = mlp(2, [8, 6, 6]);
  assert.throws(() => fsMerge(a, deeper, none, { steps: 0 }), /different architectures at layer 4/);
  const tanh = buildModel('mlp', {
    inputShape: [4, 4, 1],
    numClasses: 3,
    hidden: [8, 6],
    activation: 'tanh',
    seed: 3,
  });
  assert.throws(
    () => fsMerge(a, tanh, none, { steps: 0 }),
    /'dense1' Dense relu .* 'dense1' Dense tanh/,
  );
  const otherInput = mlp(2, [8, 6], [16]);
  assert.throws(() => fsMerge(a, otherInput, none, { steps: 0 }), /inputs \[4,4,1\] and \[16\]/);
  const bn = tf.sequential({
    layers: [
      tf.layers.flatten({ inputShape: [4, 4, 1] }),
      tf.layers.dense({ units: 8, name: 'd1' }),
      tf.layers.batchNormalization({ name: 'bn' }),
      tf.layers.dense({ units: 3, name: 'out' }),
    ],
  });
  assert.throws(
    () => fsMerge(bn, bn, none, { steps: 0 }),
    /layer 'bn' \(BatchNormalization\) of the first model has weights; FS-Merge merges Dense and Conv2D layers only/,
  );
  const cnn = (f: [number, number]) => tinyCnn(f, 4, 1);
  assert.throws(
    () => fsMerge(cnn([4, 6]), cnn([4, 5]), tf.zeros([0, 8, 8, 1]), { steps: 0 }),
    /different architectures at layer 2: 'conv2' Conv2D relu \[3,3,4,6\] \[6\] in the first model, 'conv2' Conv2D relu \[3,3,4,5\] \[5\] in the second/,
  );
  assert.throws(
    () => fsMerge(a, mlp(2), none, { rank: 9, steps: 0 }),
    /rank 9 is above the width of every layer \(the widest, 'dense1', has 8 units\)/,
  );
  assert.throws(
    () => fsMerge(a, mlp(2), tf.zeros([2, 16]), { steps: 1 }),
    /samples have shape \[16\] per sample but the models read \[4,4,1\]/,
  );
  assert.throws(() => checkFsMergeOptions({ init: 'random' }), ConfigError);
  assert.throws(
    () => checkFsMergeOptions({ init: 'random' }),
    /fs-merge config: init must be one of/,
  );
  assert.throws(() => checkFsMergeOptions({ steps: -1 }), /steps/);
  assert.throws(() => checkFsMergeOptions({ rankk: 2 }), /unknown field 'rankk'/);
  none.dispose();
});

test('an FS-Merged model predicts on stock wasm (its folded biases are rank-1 storage)', async () => {
  await useBackend('wasm');
  const a = mlp(11);
  const b = mlp(12);
  const x = tf.randomNormal([8, 4, 4, 1], 0, 1, 'float32', 5);
  const { model } = fsMerge(a, b, x, { init: 'average', steps: 1 });
  // Before the clone in foldSlot this threw "_FusedMatMul only supports rank-1 bias".
  const y = model.predict(x) as tf.Tensor;
  assert.deepEqual(y.shape, [8, 3]);
  assert.ok(tf.tidy(() => tf.all(tf.isFinite(y))).dataSync()[0]);
  tf.dispose([x, y]);
  model.dispose();
  a.dispose();
  b.dispose();
  await useBackend('cpu');
});
