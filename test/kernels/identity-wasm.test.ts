import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { useFastKernels, useStockKernels } from '../../src/kernels/index.js';
import { useBackend } from '../helpers.js';

describe('Identity on wasm (fast kernels)', () => {
  it('shares the data, and a clone outlives its source with the same values', async () => {
    await useBackend('wasm');
    useFastKernels();
    try {
      const backend = tf.engine().backend;
      const x = tf.tensor([1, 2, 3, 4], [2, 2]);
      const ids = backend.numDataIds();
      const y = tf.clone(x);
      assert.equal(backend.numDataIds(), ids, 'no new buffer');
      const z = tf.engine().runKernel('Identity', { x }) as tf.Tensor;
      assert.equal(backend.numDataIds(), ids);
      x.dispose();
      assert.deepEqual(Array.from(y.dataSync()), [1, 2, 3, 4]);
      y.dispose();
      assert.deepEqual(Array.from(z.dataSync()), [1, 2, 3, 4]);
      z.dispose();
      assert.equal(backend.numDataIds(), ids - 1, 'the buffer goes with the last reference');
      // Gradients that save their inputs (clones) still see the forward values.
      const a = tf.tensor([-1, 2, -3, 4]);
      const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.relu(t), t)))(a);
      assert.deepEqual(Array.from(g.dataSync()), [0, 4, 0, 8]);
      tf.dispose([a, g]);
    } finally {
      useStockKernels();
    }
  });
});
