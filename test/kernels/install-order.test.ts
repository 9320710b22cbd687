import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { useFastKernels, useStockKernels } from '../../src/kernels/index.js';
import { useBackend } from '../helpers.js';

// Its own test file, so that it runs in a fresh process where wasm is not initialised yet.
describe('useFastKernels before the wasm backend starts', () => {
  it('still sets up the stock kernels it wraps (matmul, sum, conv training)', async () => {
    useFastKernels();
    try {
      await useBackend('wasm');
      const a = tf.randomNormal([5, 3], 0, 1, 'float32', 1);
      const y = tf.matMul(a, a, true, false);
      assert.deepEqual(y.shape, [3, 3]);
      assert.deepEqual(tf.sum(y, 1).shape, [3]);
      const x = tf.randomNormal([2, 6, 6, 2], 0, 1, 'float32', 2) as tf.Tensor4D;
      const w = tf.randomNormal([3, 3, 2, 4], 0, 1, 'float32', 3) as tf.Tensor4D;
      const [gx, gw] = tf.grads((p: tf.Tensor, q: tf.Tensor) =>
        tf.sum(tf.conv2d(p as tf.Tensor4D, q as tf.Tensor4D, 1, 'same')),
      )([x, w]);
      assert.deepEqual(gw.shape, [3, 3, 2, 4]);
      assert.ok(Number.isFinite(gx.sum().dataSync()[0]));
      tf.dispose([a, y, x, w, gx, gw]);
    } finally {
      useStockKernels();
    }
  });
});
