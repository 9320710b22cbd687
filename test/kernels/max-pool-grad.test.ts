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
  // 2x2 at stride 2, unpadded, channels in fours: the SIMD kernel on wasm (odd sizes leave an
  // uncovered last row and column, which get zeros).
  { shape: [2, 7, 9, 8], size: 2, stride: 2, pad: 'valid' as const },
  { shape: [3, 4, 6, 4], size: 2, stride: 2, pad: 'valid' as const },
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

  it('windows of -Infinity or NaN send no gradient, as stock cpu (4-tap and 9-tap windows)', async () => {
    // 4 channels: the 2x2 windows take the SIMD kernel on wasm, the 3x3 the plain loops.
    for (const size of [2, 3]) {
      const ch = 4;
      const shape = [1, 6, 6, ch];
      const values = randomValues(36 * ch, 500 + size);
      // Channel 0 of the first window is all -Infinity, channel 1 all NaN; one NaN elsewhere;
      // channel 2 has a NaN before its maximum.
      for (let h = 0; h < size; h++) {
        for (let w = 0; w < size; w++) {
          values[(h * 6 + w) * ch] = Number.NEGATIVE_INFINITY;
          values[(h * 6 + w) * ch + 1] = Number.NaN;
        }
      }
      values[2] = Number.NaN;
      values[(4 * 6 + 5) * ch] = Number.NaN;
      const loss = (a: tf.Tensor) => {
        const y = tf.maxPool(a as tf.Tensor4D, size, size, 'valid');
        const r = tf.tensor(randomValues(y.size, 600 + size), y.shape);
        return tf.sum(tf.mul(y, r)) as tf.Scalar;
      };
      const [fast] = await gradsOn('wasm', 'fast', [{ values, shape }], loss);
      const [stock] = await gradsOn('cpu', 'stock', [{ values, shape }], loss);
      assert.deepEqual(Array.from(fast), Array.from(stock), `size ${size}`);
      assert.equal(fast[0], 0, 'the -Infinity window gets nothing');
    }
  });
});
