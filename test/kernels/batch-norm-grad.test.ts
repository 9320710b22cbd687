import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { BACKENDS } from '../helpers.js';
import { gradsOn, randomValues, relativeError } from './reference.js';

const positive = (v: Float32Array) => v.map((x) => 0.5 + x * x);

describe('fast FusedBatchNorm gradient matches stock tfjs', () => {
  for (const backend of BACKENDS) {
    it(`per-channel (batch norm) and full-size (layer norm) parameters (${backend}, reference: stock cpu)`, async () => {
      const cases: { x: number[]; p: number[] }[] = [
        { x: [3, 4, 5, 6], p: [6] },
        { x: [1, 3, 3, 5], p: [5] },
        { x: [2, 3, 4], p: [2, 3, 4] },
        { x: [7, 2], p: [2] },
      ];
      for (const [i, k] of cases.entries()) {
        const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
        const x = { values: randomValues(size(k.x), 900 + i), shape: k.x };
        const mean = { values: randomValues(size(k.p), 910 + i), shape: k.p };
        const variance = { values: positive(randomValues(size(k.p), 920 + i)), shape: k.p };
        const scale = { values: randomValues(size(k.p), 930 + i), shape: k.p };
        const offset = { values: randomValues(size(k.p), 940 + i), shape: k.p };
        const loss = (a: tf.Tensor, m: tf.Tensor, v: tf.Tensor, s: tf.Tensor, o: tf.Tensor) => {
          const y = tf.batchNorm(a, m, v, o, s, 1e-3);
          return tf.sum(tf.mul(y, tf.tensor(randomValues(y.size, 950 + i), y.shape))) as tf.Scalar;
        };
        const inputs = [x, mean, variance, scale, offset];
        const fast = await gradsOn(
          backend,
          'fast',
          inputs,
          loss as (...t: tf.Tensor[]) => tf.Scalar,
        );
        const stock = await gradsOn(
          'cpu',
          'stock',
          inputs,
          loss as (...t: tf.Tensor[]) => tf.Scalar,
        );
        ['x', 'mean', 'variance', 'scale', 'offset'].forEach((name, j) => {
          const err = relativeError(fast[j], stock[j]);
          assert.ok(err < 1e-5, `case ${i} d${name}: ${err}`);
        });
      }
    });
  }
});
