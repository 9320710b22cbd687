import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import type { ClassificationData } from '../../src/data/dataset.js';
import { distill, distillationLoss, distillStep } from '../../src/lowrank/distill.js';

function softmax(z: number[]): number[] {
  const m = Math.max(...z);
  const e = z.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

test('distillationLoss equals a hand computation of alpha CE + (1 - alpha) T^2 KL', () => {
  const s = [
    [1, 2, 0.5],
    [0, -1, 3],
  ];
  const t = [
    [2, 0, 1],
    [1, 1, 2],
  ];
  const y = [
    [0, 1, 0],
    [0, 0, 1],
  ];
  const T = 3;
  const alpha = 0.3;
  let ce = 0;
  let kl = 0;
  for (let i = 0; i < 2; i++) {
    const p = softmax(s[i]);
    ce += -Math.log(p[y[i].indexOf(1)]);
    const pt = softmax(t[i].map((v) => v / T));
    const ps = softmax(s[i].map((v) => v / T));
    for (let k = 0; k < 3; k++) kl += pt[k] * Math.log(pt[k] / ps[k]);
  }
  const want = alpha * (ce / 2) + (1 - alpha) * T * T * (kl / 2);
  const got = tf.tidy(
    () =>
      distillationLoss(tf.tensor2d(y), tf.tensor2d(s), tf.tensor2d(t), {
        temperature: T,
        alpha,
      }).dataSync()[0],
  );
  assert.ok(Math.abs(got - want) < 1e-5, `${got} vs ${want}`);
  assert.throws(
    () => distillationLoss(tf.tensor2d(y), tf.tensor2d(s), tf.zeros([2, 4]), {}),
    /student output \[2,3\] and teacher output \[2,4\] differ/,
  );
});

function mlp(
  hidden: number,
  seed: number,
  out = 3,
  activation?: 'softmax' | 'sigmoid',
): tf.LayersModel {
  return tf.sequential({
    layers: [
      tf.layers.dense({
        units: hidden,
        activation: 'relu',
        inputShape: [4],
        name: 'h',
        kernelInitializer: tf.initializers.glorotUniform({ seed }),
      }),
      tf.layers.dense({
        units: out,
        name: 'logits',
        activation,
        kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }),
      }),
    ],
  });
}

test('distillStep with a feature pair adds the feature MSE, the teacher is untouched; distill lowers the loss', () => {
  const teacher = mlp(6, 1);
  const student = mlp(6, 5);
  const xs = tf.randomNormal([5, 4], 0, 1, 'float32', 9);
  const ys = tf.oneHot(tf.tensor1d([0, 1, 2, 0, 1], 'int32'), 3).toFloat() as tf.Tensor2D;
  const batch = { xs, ys, labels: new Int32Array([0, 1, 2, 0, 1]), size: 5 };
  const opts = { temperature: 2, alpha: 0.5 };
  // zero learning rate: the returned loss is the loss at the current weights
  const sgd0 = tf.train.sgd(0);
  const plain = distillStep(student, teacher, sgd0, batch, opts);
  const withF = distillStep(student, teacher, sgd0, batch, {
    ...opts,
    features: [{ student: 'h', teacher: 'h', weight: 2 }],
  });
  const mse = tf.tidy(() => {
    const hs = tf.relu(
      tf
        .matMul(xs, student.getLayer('h').getWeights()[0])
        .add(student.getLayer('h').getWeights()[1]),
    );
    const ht = tf.relu(
      tf
        .matMul(xs, teacher.getLayer('h').getWeights()[0])
        .add(teacher.getLayer('h').getWeights()[1]),
    );
    return tf.mean(tf.square(tf.sub(hs, ht))).dataSync()[0];
  });
  assert.ok(Math.abs(withF - plain - 2 * mse) < 1e-5, `${withF} - ${plain} vs 2 * ${mse}`);
  const tBefore = teacher.getWeights().map((w) => w.dataSync().slice());
  const n = 64;
  const x = new Float32Array(n * 4).map((_, i) => Math.sin(i * 1.7));
  const y = Int32Array.from({ length: n }, (_, i) => i % 3);
  const data: ClassificationData = {
    name: 'toy',
    sampleShape: [4],
    numClasses: 3,
    train: { x, y, count: n },
    test: { x, y, count: n },
  };
  const before = tf.memory().numTensors;
  const run = distill(student, teacher, data, {
    ...opts,
    epochs: 6,
    batchSize: 16,
    learningRate: 0.02,
    features: [{ student: 'h', teacher: 'h' }],
  });
  assert.equal(tf.memory().numTensors, before);
  assert.equal(run.steps, 24);
  const head = run.losses.slice(0, 4).reduce((a, b) => a + b) / 4;
  const tail = run.losses.slice(-4).reduce((a, b) => a + b) / 4;
  assert.ok(tail < head, `loss ${head} -> ${tail}`);
  for (const [i, w] of teacher.getWeights().entries()) assert.deepEqual(w.dataSync(), tBefore[i]);
  // bad input names the layers
  assert.throws(
    () => distill(mlp(6, 2, 4), teacher, data),
    /student output \[4\] and teacher output \[3\] differ/,
  );
  assert.throws(
    () => distill(mlp(5, 2), teacher, data, { features: [{ student: 'h', teacher: 'h' }] }),
    /feature pair h \[5\] \/ h \[6\] have different shapes/,
  );
  assert.throws(
    () => distill(student, teacher, data, { features: [{ student: 'nope', teacher: 'h' }] }),
    /the student has no layer named nope/,
  );
  tf.dispose([xs, ys]);
  sgd0.dispose();
});

test('softmax-output models distil as their logits twins (through log p); other outputs are refused', () => {
  const xs = tf.randomNormal([6, 4], 0, 1, 'float32', 3);
  const ys = tf.oneHot(tf.tensor1d([0, 1, 2, 0, 1, 2], 'int32'), 3).toFloat() as tf.Tensor2D;
  const batch = { xs, ys, labels: new Int32Array([0, 1, 2, 0, 1, 2]), size: 6 };
  const opts = { temperature: 2, alpha: 0.3, features: [{ student: 'h', teacher: 'h' }] };
  const sgd0 = tf.train.sgd(0);
  for (const features of [[], opts.features]) {
    const o = { ...opts, features };
    const logits = distillStep(mlp(6, 5), mlp(6, 1), sgd0, batch, o);
    const both = distillStep(mlp(6, 5, 3, 'softmax'), mlp(6, 1, 3, 'softmax'), sgd0, batch, o);
    const mixed = distillStep(mlp(6, 5), mlp(6, 1, 3, 'softmax'), sgd0, batch, o);
    assert.ok(Math.abs(both - logits) < 1e-5, `softmax pair ${both} vs logits pair ${logits}`);
    assert.ok(Math.abs(mixed - logits) < 1e-5, `mixed pair ${mixed} vs logits pair ${logits}`);
  }
  // labels only (alpha 1): the softmax student's loss is cross-entropy on its probabilities
  const hard = distillStep(mlp(6, 5, 3, 'softmax'), mlp(6, 1), sgd0, batch, { alpha: 1 });
  const hardLogits = distillStep(mlp(6, 5), mlp(6, 1), sgd0, batch, { alpha: 1 });
  assert.ok(Math.abs(hard - hardLogits) < 1e-5, `${hard} vs ${hardLogits}`);
  assert.throws(
    () => distillStep(mlp(6, 5, 3, 'sigmoid'), mlp(6, 1), sgd0, batch, {}),
    /distillation student: the model's output layer 'logits' \(Dense\) ends in sigmoid/,
  );
  tf.dispose([xs, ys]);
  sgd0.dispose();
});
