import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { useFastKernels, useStockKernels } from '../../src/kernels/index.js';
import { BACKENDS, useBackend } from '../helpers.js';
import { gradsOn, randomInput, randomValues, relativeError } from './reference.js';

const cases: [number[], number[]][] = [
  [
    [1, 1, 4],
    [5, 3, 1],
  ],
  [
    [2, 3, 1],
    [1, 1, 4],
  ],
  [[3], [4]],
  [
    [2, 1, 3, 2],
    [2, 3, 1, 2],
  ],
];

describe('fast Tile and its gradient match stock tfjs', () => {
  for (const backend of BACKENDS) {
    it(`values and gradients, ranks 1-4 (${backend}, reference: stock cpu)`, async () => {
      for (const [i, [shape, reps]] of cases.entries()) {
        const x = randomInput(shape, 600 + i);
        const loss = (a: tf.Tensor) => {
          const y = tf.tile(a, reps);
          return tf.sum(tf.mul(y, tf.tensor(randomValues(y.size, 700 + i), y.shape))) as tf.Scalar;
        };
        const [fast] = await gradsOn(backend, 'fast', [x], loss);
        const [stock] = await gradsOn('cpu', 'stock', [x], loss);
        assert.ok(relativeError(fast, stock) < 1e-6, `grad case ${i}`);
        await useBackend(backend);
        useFastKernels();
        const tiled = tf.tidy(() => tf.tile(tf.tensor(x.values, shape), reps).dataSync());
        useStockKernels();
        await useBackend('cpu');
        const expected = tf.tidy(() => tf.tile(tf.tensor(x.values, shape), reps).dataSync());
        assert.deepEqual(Array.from(tiled), Array.from(expected), `values case ${i}`);
      }
    });
  }

  it('differentiates rank-5 tiles, which stock tfjs cannot', async () => {
    const shape = [1, 2, 1, 2, 1];
    const reps = [2, 1, 3, 1, 2];
    const x = { values: randomValues(4, 800), shape };
    const [g] = await gradsOn('cpu', 'fast', [x], (a: tf.Tensor) => tf.sum(tf.tile(a, reps)));
    // Every element is copied 2*3*2 = 12 times.
    assert.deepEqual(Array.from(g), [12, 12, 12, 12]);
  });
});
