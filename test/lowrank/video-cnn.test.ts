import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { batches } from '../../src/data/dataset.js';
import { movingMnist } from '../../src/data/moving-mnist.js';
import { useFastKernels } from '../../src/kernels/index.js';
import { conv2dKernelTo3d } from '../../src/lowrank/conv3d.js';
import { buildVideoCnn } from '../../src/lowrank/video-cnn.js';
import { applyStep, defaultForward, trainableVariables } from '../../src/train/gradients.js';
import { lossByName } from '../../src/train/loss.js';
import { maxAbsDiff, saveAndLoad, useBackend } from '../helpers.js';

const SHAPE = [6, 20, 20, 1];

test('videoCnn as2d and conv3d with one seed are the same function, values and gradients', () => {
  const a = buildVideoCnn({ inputShape: SHAPE, numClasses: 8, conv: 'as2d', seed: 4 });
  const b = buildVideoCnn({ inputShape: SHAPE, numClasses: 8, conv: 'conv3d', seed: 4 });
  assert.equal(a.countParams(), b.countParams());
  const x = tf.randomUniform([3, ...SHAPE], 0, 1, 'float32', 2);
  const ya = a.predict(x) as tf.Tensor;
  const yb = b.predict(x) as tf.Tensor;
  assert.deepEqual(ya.shape, [3, 8]);
  assert.ok(maxAbsDiff(ya, yb) < 1e-4, `outputs differ by ${maxAbsDiff(ya, yb)}`);
  // gradients of every weight agree (the conv kernels' in the 3D layout)
  const ys = tf.oneHot(tf.tensor1d([0, 3, 7], 'int32'), 8).toFloat();
  const loss = lossByName('logits');
  const g = (m: tf.LayersModel) => {
    const vars = trainableVariables(m);
    const r = tf.variableGrads(
      () => loss.mean(ys, m.apply(x, { training: true }) as tf.Tensor),
      vars,
    );
    return { ...r, list: vars.map((v) => r.grads[v.name]) };
  };
  const ga = g(a);
  const gb = g(b);
  assert.equal(ga.list.length, 8);
  ga.list.forEach((t, i) => {
    const mine = t.rank === 4 ? conv2dKernelTo3d(t as tf.Tensor4D, 3) : t;
    assert.ok(maxAbsDiff(mine, gb.list[i]) < 1e-4, `gradient ${i} differs`);
    if (mine !== t) mine.dispose();
  });
  assert.ok(gb.list.some((t) => t.rank === 5));
  tf.dispose([
    x,
    ya,
    yb,
    ys,
    ga.value,
    gb.value,
    ...Object.values(ga.grads),
    ...Object.values(gb.grads),
  ]);
  for (const m of [a, b]) m.dispose();
});

test('videoCnn (as2d) learns the direction of moving digits in a few steps, without leaking tensors, and saves/loads', async () => {
  // wasm with frugal's kernels: tfjs-cpu's Conv2DBackpropFilter takes ~1 s a step here
  await useBackend('wasm');
  useFastKernels();
  const data = movingMnist({ trainCount: 256, testCount: 32, seed: 1 });
  const m = buildVideoCnn({ inputShape: data.sampleShape, numClasses: data.numClasses, seed: 1 });
  const ctx = {
    variables: trainableVariables(m),
    forward: defaultForward(m),
    loss: lossByName('logits'),
  };
  const opt = tf.train.adam(3e-3);
  const losses: number[] = [];
  let count = -1;
  for (let epoch = 0; epoch < 3; epoch++)
    for (const batch of batches(data, 'train', 32, { shuffle: true, seed: epoch })) {
      const v = applyStep(ctx, opt, batch);
      losses.push(v.dataSync()[0]);
      tf.dispose([v, batch.xs, batch.ys]);
      if (epoch === 1 && count < 0) count = tf.memory().numTensors;
      else if (epoch === 2)
        assert.equal(tf.memory().numTensors, count, 'tensors leak across steps');
    }
  const first = losses.slice(0, 3).reduce((s, v) => s + v) / 3;
  const last = losses.slice(-3).reduce((s, v) => s + v) / 3;
  assert.ok(last < first * 0.8, `loss ${first} -> ${last}`);
  const loaded = await saveAndLoad(m);
  const x = tf.tensor(data.test.x, [data.test.count, ...data.sampleShape]);
  const y1 = m.predict(x) as tf.Tensor;
  const y2 = loaded.predict(x) as tf.Tensor;
  assert.ok(maxAbsDiff(y1, y2) < 1e-6);
  tf.dispose([x, y1, y2]);
  opt.dispose();
  m.dispose();
  loaded.dispose();
  await useBackend('cpu');
});

test('videoCnn: bad input names the problem', () => {
  assert.throws(
    () => buildVideoCnn({ inputShape: [20, 20, 1], numClasses: 8 }),
    /needs video samples \[frames, height, width, channels\], got \[20,20,1\]/,
  );
  assert.throws(
    () => buildVideoCnn({ inputShape: [4, 20, 20, 1], numClasses: 8 }),
    /too small for two 3x3x3 convolutions/,
  );
  assert.throws(
    () => buildVideoCnn({ inputShape: SHAPE, numClasses: 8, conv: 'conv5d' as 'as2d' }),
    /conv must be one of as2d, conv3d/,
  );
  assert.throws(
    () => buildVideoCnn({ inputShape: SHAPE, numClasses: 8, filters: [0, 4] }),
    /filters\[0\] must be a positive integer/,
  );
});
