import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { useFastKernels, useStockKernels } from '../../src/kernels/index.js';
import { useBackend } from '../helpers.js';

describe('fast kernels on cast tensors', () => {
  it('read float32 tensors that the cpu backend stores as bool/int32 arrays after a cast', async () => {
    await useBackend('cpu');
    useFastKernels();
    try {
      const x = tf.tensor2d([
        [-1, 2],
        [3, -4],
      ]);
      const mask = tf.greater(x, 0).cast('float32');
      const ints = tf
        .tensor2d(
          [
            [1, 2],
            [3, 4],
          ],
          undefined,
          'int32',
        )
        .cast('float32');
      assert.deepEqual(
        Array.from(tf.mul(mask, x).dataSync(), (v) => v + 0),
        [0, 2, 3, 0],
      );
      assert.deepEqual(Array.from(tf.add(ints, 0.5).dataSync()), [1.5, 2.5, 3.5, 4.5]);
      tf.dispose([x, mask, ints]);
    } finally {
      useStockKernels();
    }
  });
});
