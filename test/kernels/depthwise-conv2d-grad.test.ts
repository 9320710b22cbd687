import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { BACKENDS } from '../helpers.js';
import { gradsOn, randomInput, randomValues, relativeError, spreadFilter } from './reference.js';

const cases = [
  { n: 2, h: 7, w: 6, c: 3, m: 1, k: 3, s: 1, d: 1, pad: 'same' as const },
  { n: 1, h: 8, w: 7, c: 2, m: 2, k: 3, s: 2, d: 1, pad: 'valid' as const },
  { n: 3, h: 5, w: 9, c: 1, m: 3, k: 2, s: 2, d: 1, pad: 'same' as const },
  { n: 2, h: 9, w: 8, c: 2, m: 2, k: 3, s: 1, d: 2, pad: 'same' as const },
  { n: 1, h: 7, w: 7, c: 3, m: 1, k: 2, s: 1, d: 3, pad: 'valid' as const },
];

describe('fast DepthwiseConv2dNative gradients match stock tfjs', () => {
  for (const backend of BACKENDS) {
    it(`dX and dW: strides, pads, multipliers, batch 1, dilation (${backend}, reference: stock cpu)`, async () => {
      for (const [i, k] of cases.entries()) {
        const x = randomInput([k.n, k.h, k.w, k.c], 80 + i);
        const w = randomInput([k.k, k.k, k.c, k.m], 90 + i);
        const weigh = (y: tf.Tensor) =>
          tf.sum(tf.mul(y, tf.tensor(randomValues(y.size, 95 + i), y.shape))) as tf.Scalar;
        const fastLoss = (a: tf.Tensor, b: tf.Tensor) =>
          weigh(tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, k.s, k.pad, 'NHWC', k.d));
        // Stock gradients do not support dilation: the reference spreads the filter instead.
        const stockLoss = (a: tf.Tensor, b: tf.Tensor) =>
          weigh(tf.depthwiseConv2d(a as tf.Tensor4D, spreadFilter(b, k.d), k.s, k.pad));
        const [fx, fw] = await gradsOn(backend, 'fast', [x, w], fastLoss);
        const [sx, sw] = await gradsOn('cpu', 'stock', [x, w], stockLoss);
        assert.ok(relativeError(fx, sx) < 1e-5, `dX case ${i}: ${relativeError(fx, sx)}`);
        assert.ok(relativeError(fw, sw) < 1e-5, `dW case ${i}: ${relativeError(fw, sw)}`);
      }
    });
  }
});
