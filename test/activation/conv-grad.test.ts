import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import {
  conv2dFilterGrad,
  conv2dInputGrad,
  depthwiseFilterGrad,
  depthwiseInputGrad,
} from '../../src/activation/backward/conv-grad.js';
import { maxAbsDiff, useBackend } from '../helpers.js';

describe('conv2d gradients from forward convolutions', () => {
  before(() => useBackend('cpu'));
  const cases: [number, number, number, number, number, 'valid' | 'same'][] = [
    // h, w, k, stride h, stride w, padding
    [6, 6, 3, 1, 1, 'valid'],
    [6, 7, 3, 1, 1, 'same'],
    [7, 7, 3, 2, 2, 'same'],
    [8, 7, 3, 2, 1, 'valid'],
    [5, 5, 1, 2, 2, 'same'],
    [9, 9, 2, 3, 3, 'valid'],
  ];
  for (const [h, w, k, sh, sw, pad] of cases) {
    it(`match tf.grads for ${h}x${w}, k${k}, stride ${sh}x${sw}, ${pad}`, () => {
      tf.tidy(() => {
        const x = tf.randomNormal([2, h, w, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
        const f = tf.randomNormal([k, k, 3, 4], 0, 1, 'float32', 2) as tf.Tensor4D;
        const y = tf.conv2d(x, f, [sh, sw], pad);
        const dy = tf.randomNormal(y.shape, 0, 1, 'float32', 3) as tf.Tensor4D;
        const [gx, gf] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, [sh, sw], pad),
        )([x, f], dy);
        const dx = conv2dInputGrad(dy, f, x.shape, [sh, sw], pad);
        const df = conv2dFilterGrad(x, dy, f.shape, [sh, sw], pad);
        assert.deepEqual(dx.shape, x.shape);
        assert.deepEqual(df.shape, f.shape);
        assert.ok(maxAbsDiff(dx, gx) < 1e-4, `dx ${maxAbsDiff(dx, gx)}`);
        assert.ok(maxAbsDiff(df, gf) < 1e-3, `dw ${maxAbsDiff(df, gf)}`);
      });
    });
    it(`depthwise: match tf.grads for ${h}x${w}, k${k}, stride ${sh}x${sw}, ${pad}`, () => {
      tf.tidy(() => {
        const x = tf.randomNormal([2, h, w, 3], 0, 1, 'float32', 4) as tf.Tensor4D;
        const f = tf.randomNormal([k, k, 3, 1], 0, 1, 'float32', 5) as tf.Tensor4D;
        const y = tf.depthwiseConv2d(x, f, [sh, sw], pad);
        const dy = tf.randomNormal(y.shape, 0, 1, 'float32', 6) as tf.Tensor4D;
        const [gx, gf] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, [sh, sw], pad),
        )([x, f], dy);
        const dx = depthwiseInputGrad(dy, f, x.shape, [sh, sw], pad);
        const df = depthwiseFilterGrad(x, dy, f.shape, [sh, sw], pad);
        assert.ok(maxAbsDiff(dx, gx) < 1e-4, `dx ${maxAbsDiff(dx, gx)}`);
        assert.ok(maxAbsDiff(df, gf) < 1e-3, `dw ${maxAbsDiff(df, gf)}`);
      });
    });
  }
});
