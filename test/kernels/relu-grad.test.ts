import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { useFastKernels, useStockKernels } from '../../src/kernels/index.js';
import { FAST_RELU_GRAD } from '../../src/kernels/relu-grad.js';
import { useBackend } from '../helpers.js';
import { gradsOn, randomValues } from './reference.js';

describe('fast ReLU gradient (wasm, one pass)', () => {
  it('equals stock cpu bit for bit, NaN, infinities, zeros and a SIMD tail included', async () => {
    for (const size of [4, 7, 1031]) {
      const values = randomValues(size, 900 + size);
      values[0] = Number.NaN;
      values[1] = 0;
      values[2] = -0;
      if (size > 4) {
        values[3] = Number.POSITIVE_INFINITY;
        values[4] = Number.NEGATIVE_INFINITY;
        values[size - 1] = Number.NaN;
      }
      const r = randomValues(size, 950 + size);
      r[5 % size] = Number.POSITIVE_INFINITY;
      const loss = (x: tf.Tensor) => tf.sum(tf.mul(tf.relu(x), tf.tensor(r))) as tf.Scalar;
      const [fast] = await gradsOn('wasm', 'fast', [{ values, shape: [size] }], loss);
      const [stock] = await gradsOn('cpu', 'stock', [{ values, shape: [size] }], loss);
      assert.deepEqual(Array.from(fast), Array.from(stock), `size ${size}`);
    }
  });

  it('runs as one kernel on wasm, with no tensor left behind', async () => {
    await useBackend('wasm');
    useFastKernels();
    try {
      const x = tf.tensor([-1, 2, -3, 4, 5]);
      const names: string[] = [];
      const g = tf.grad((t: tf.Tensor) => tf.sum(tf.relu(t)));
      const before = tf.memory().numTensors;
      const profile = await tf.profile(() => {
        const out = g(x);
        out.dispose();
      });
      for (const k of profile.kernels) names.push(k.name);
      assert.ok(names.includes(FAST_RELU_GRAD), names.join());
      assert.ok(!names.includes('Step'), names.join());
      assert.equal(tf.memory().numTensors, before);
      const [a, b] = [tf.ones([2]), tf.ones([3])];
      assert.throws(
        () => tf.engine().runKernel(FAST_RELU_GRAD, { dy: a, x: b }),
        /dy has shape \[2\], x \[3\]/,
      );
      tf.dispose([x, a, b]);
    } finally {
      useStockKernels();
    }
  });
});
