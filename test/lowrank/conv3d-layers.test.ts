import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { Conv3dAs2d, SpatioTemporalBlock } from '../../src/lowrank/conv3d-layers.js';

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  assert.deepEqual(a.shape, b.shape);
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

test("Conv3dAs2d layer with a conv3d layer's weights gives the conv3d layer's output", () => {
  const ref = tf.layers.conv3d({
    filters: 4,
    kernelSize: [3, 3, 2],
    strides: [1, 2, 1],
    padding: 'same',
    activation: 'relu',
    inputShape: [5, 6, 6, 2],
  });
  const mine = new Conv3dAs2d({
    filters: 4,
    kernelSize: [3, 3, 2],
    strides: [1, 2, 1],
    padding: 'same',
    activation: 'relu',
  });
  const x = tf.randomNormal([2, 5, 6, 6, 2], 0, 1, 'float32', 5);
  const yRef = ref.apply(x) as tf.Tensor;
  mine.apply(x);
  mine.setConv3dWeights(ref.getWeights());
  const y = mine.apply(x) as tf.Tensor;
  assert.ok(maxAbsDiff(y, yRef) < 1e-4);
  assert.deepEqual(mine.computeOutputShape([null, 5, 6, 6, 2]), [null, 5, 3, 6, 4]);
  tf.dispose([x, yRef, y]);
});

test('SpatioTemporalBlock: temporal part equals a [kt,1,1] conv3d of the spatial output; cat doubles channels; trains', () => {
  const block = new SpatioTemporalBlock({
    filters: 3,
    temporalKernel: 3,
    fusion: 'add',
    activation: 'linear',
    seed: 1,
  });
  const x = tf.randomNormal([2, 4, 5, 5, 2], 0, 1, 'float32', 6);
  const y = block.apply(x) as tf.Tensor;
  const [sk, sb, tk, tb] = block.getWeights();
  const ref = tf.tidy(() => {
    const s = tf.add(
      tf.conv3d(x as tf.Tensor5D, tf.reshape(sk, [1, 3, 3, 2, 3]) as tf.Tensor5D, 1, 'same'),
      sb,
    );
    const t = tf.add(
      tf.conv3d(s as tf.Tensor5D, tf.reshape(tk, [3, 1, 1, 3, 3]) as tf.Tensor5D, 1, 'same'),
      tb,
    );
    return tf.add(s, t);
  });
  assert.ok(maxAbsDiff(y, ref) < 1e-4);
  const cat = new SpatioTemporalBlock({ filters: 3, fusion: 'cat', seed: 1 });
  assert.deepEqual((cat.apply(x) as tf.Tensor).shape, [2, 4, 5, 5, 6]);
  // trainable: a few SGD steps lower a regression loss, with all four weights updated
  const model = tf.sequential({
    layers: [
      new SpatioTemporalBlock({ filters: 2, seed: 2, inputShape: [4, 5, 5, 2] }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 1 }),
    ],
  });
  const target = tf.randomNormal([2, 1], 0, 1, 'float32', 7);
  const opt = tf.train.sgd(0.01);
  const loss = () => tf.losses.meanSquaredError(target, model.apply(x) as tf.Tensor) as tf.Scalar;
  const first = tf.tidy(() => loss().dataSync()[0]);
  for (let i = 0; i < 10; i++)
    tf.tidy(() => {
      opt.minimize(loss);
    });
  const last = tf.tidy(() => loss().dataSync()[0]);
  assert.ok(last < first, `loss ${first} -> ${last}`);
  assert.throws(
    () => new SpatioTemporalBlock({ filters: 2, fusion: 'mul' as 'add' }),
    /fusion must be 'add' or 'cat'/,
  );
  assert.throws(
    () => new Conv3dAs2d({ filters: 0, kernelSize: [1, 1, 1] }),
    /filters must be a positive integer/,
  );
  tf.dispose([x, y, ref, target]);
});

test('Conv3dAs2d and SpatioTemporalBlock: bad input names the layer and the problem', () => {
  assert.throws(
    () => new Conv3dAs2d({ filters: 2, kernelSize: [1, 1, 1], strides: [1, 0, 1], name: 'c3' }),
    /c3: strides must be positive integers \[d, h, w\], got 1,0,1/,
  );
  assert.throws(
    () => new Conv3dAs2d({ filters: 2, kernelSize: [1, 1, 1], dilations: [2, 2] as never }),
    /dilations must be positive integers/,
  );
  assert.throws(
    () => new Conv3dAs2d({ filters: 2, kernelSize: [1, 1, 1], padding: 'full' as 'same' }),
    /padding must be 'valid' or 'same', got "full"/,
  );
  assert.throws(
    () => new Conv3dAs2d({ filters: 2, kernelSize: [3, 3] as never }),
    /kernelSize must be \[kd, kh, kw\] positive integers/,
  );
  assert.throws(
    () => new Conv3dAs2d({ filters: 2, kernelSize: [1, 1, 1], activation: 'tanh' as 'relu' }),
    /activation must be 'linear' or 'relu', got "tanh"/,
  );
  const layer = new Conv3dAs2d({ filters: 4, kernelSize: [2, 3, 3], name: 'c3' });
  assert.throws(() => layer.setConv3dWeights([tf.zeros([2, 3, 3, 2, 4])]), /before build/);
  assert.throws(
    () => layer.apply(tf.zeros([1, 4, 5, 5])),
    /c3: input must be \[batch, depth, height, width, channels\], got \[1,4,5,5\]/,
  );
  layer.apply(tf.zeros([1, 4, 5, 5, 2]));
  assert.throws(
    () => layer.setConv3dWeights([tf.zeros([3, 3, 3, 2, 4]), tf.zeros([4])]),
    /c3: the conv3d kernel is \[3,3,3,2,4\], expected \[2,3,3,2,4\]/,
  );
  assert.throws(
    () => layer.setConv3dWeights([tf.zeros([2, 3, 3, 2, 4]), tf.zeros([3])]),
    /c3: the bias is \[3\], expected \[4\]/,
  );
  assert.throws(
    () => layer.setConv3dWeights([tf.zeros([2, 3, 3, 2, 4])]),
    /setConv3dWeights takes \[kernel, bias\], got 1 tensors/,
  );
  assert.throws(
    () => new SpatioTemporalBlock({ filters: 2, spatialKernel: [3, 0], name: 'st' }),
    /st: spatialKernel must be \[kh, kw\] positive integers, got \[3,0\]/,
  );
  assert.throws(
    () => new SpatioTemporalBlock({ filters: 2, temporalKernel: 0 }),
    /temporalKernel must be a positive integer, got 0/,
  );
  assert.throws(
    () => new SpatioTemporalBlock({ filters: 2, activation: 'gelu' as 'relu' }),
    /activation must be 'linear' or 'relu'/,
  );
  assert.throws(
    () => new SpatioTemporalBlock({ filters: 2, name: 'st' }).apply(tf.zeros([1, 4, 5, 2])),
    /st: input must be \[batch, time, height, width, channels\]/,
  );
});
