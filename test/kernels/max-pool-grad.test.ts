import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { BACKENDS } from '../helpers.js';
import { gradsOn, randomValues, relativeError } from './reference.js';

const cases = [
  { shape: [2, 6, 6, 3], size: 2, stride: 2, pad: 'valid' as const },
  { shape: [1, 7, 5, 2], size: 3, stride: 2, pad: 'same' as const },
  { shape: [3, 5, 5, 4], size: 3, stride: 1, pad: 'same' as const },
  { shape: [1, 9, 7, 1], size: 2, stride: 3, pad: 'valid' as const },
];
// AvgPoolGrad differs from stock tfjs where padding cuts a window: see avg-pool-grad.test.ts.
const pools = { max: tf.maxPool };

describe('fast MaxPoolGrad matches stock tfjs', () => {
  for (const backend of BACKENDS) {
    it(`random inputs and inputs with ties, strides, pads (${backend}, reference: stock cpu)`, async () => {
      for (const [i, k] of cases.entries()) {
        const values = randomValues(
          k.shape.reduce((p, q) => p * q, 1),
          300 + i,
        );
        for (const [kind, pool] of Object.entries(pools)) {
          for (const ties of [false, true]) {
            // Rounded values tie within windows: max pooling sends dy to the first maximum only.
            const x = { values: ties ? values.map(Math.round) : values, shape: k.shape };
            const loss = (a: tf.Tensor) => {
              const y = pool(a as tf.Tensor4D, k.size, k.stride, k.pad);
              const r = tf.tensor(randomValues(y.size, 400 + i), y.shape);
              return tf.sum(tf.mul(y, r)) as tf.Scalar;
            };
            const [fast] = await gradsOn(backend, 'fast', [x], loss);
            const [stock] = await gradsOn('cpu', 'stock', [x], loss);
            const err = relativeError(fast, stock);
            assert.ok(err < 1e-6, `${kind} case ${i} ties=${ties}: ${err}`);
          }
        }
      }
    });
  }
});
