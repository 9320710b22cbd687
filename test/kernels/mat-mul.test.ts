import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type * as tf from '@tensorflow/tfjs';
import * as tfjs from '@tensorflow/tfjs';
import { gradsOn, randomValues, relativeError } from './reference.js';

describe('fast matmul on wasm (transposes made explicit) matches stock cpu', () => {
  it('gradients of plain, batched and fused (dense) matmuls', async () => {
    const a = { values: randomValues(6 * 9, 1), shape: [6, 9] };
    const b = { values: randomValues(9 * 5, 2), shape: [9, 5] };
    const bias = { values: randomValues(5, 3), shape: [5] };
    const r = (y: tf.Tensor) => tfjs.tensor(randomValues(y.size, 4), y.shape);
    const losses = {
      plain: (x: tf.Tensor, w: tf.Tensor) => {
        const y = tfjs.matMul(x, w);
        return tfjs.sum(tfjs.mul(y, r(y))) as tf.Scalar;
      },
      transposed: (x: tf.Tensor, w: tf.Tensor) => {
        const y = tfjs.matMul(w, x, true, true);
        return tfjs.sum(tfjs.mul(y, r(y))) as tf.Scalar;
      },
      fused: (x: tf.Tensor, w: tf.Tensor, c: tf.Tensor) => {
        const y = tfjs.fused.matMul({ a: x, b: w, bias: c, activation: 'linear' });
        return tfjs.sum(tfjs.mul(y, r(y))) as tf.Scalar;
      },
      batchedTransposed: (x: tf.Tensor, w: tf.Tensor) => {
        // [3, 2, 3] x [3, 3, 5]^T-shaped operands: attention's q k^T and p v patterns.
        const q = x.reshape([3, 3, 6]).slice([0, 0, 0], [3, 3, 5]);
        const k = w.reshape([3, 3, 5]);
        const y = tfjs.matMul(q, k, true, false);
        const z = tfjs.matMul(y, k, false, true);
        return tfjs.sum(tfjs.mul(z, r(z))) as tf.Scalar;
      },
      batched: (x: tf.Tensor, w: tf.Tensor) => {
        const y = tfjs.matMul(x.reshape([2, 3, 9]), w.reshape([1, 9, 5]).tile([2, 1, 1]));
        return tfjs.sum(tfjs.mul(y, r(y))) as tf.Scalar;
      },
    };
    // A wide dense layer: its input gradient dy w^T runs as (w dy^T)^T (w is larger than dy
    // and dx together), and the direct a b^T of the same shapes as well.
    const wideX = { values: randomValues(3 * 40, 11), shape: [3, 40] };
    const wideW = { values: randomValues(40 * 4, 12), shape: [40, 4] };
    const wide = {
      wideDense: (x: tf.Tensor, w: tf.Tensor) => {
        const y = tfjs.matMul(x, w);
        return tfjs.sum(tfjs.mul(y, r(y))) as tf.Scalar;
      },
      wideTransposedB: (x: tf.Tensor, w: tf.Tensor) => {
        const y = tfjs.matMul(x.slice([0, 0], [3, 4]), w, false, true);
        return tfjs.sum(tfjs.mul(y, r(y))) as tf.Scalar;
      },
    };
    for (const [name, loss] of [...Object.entries(losses), ...Object.entries(wide)]) {
      const inputs = name === 'fused' ? [a, b, bias] : name in wide ? [wideX, wideW] : [a, b];
      const fast = await gradsOn('wasm', 'fast', inputs, loss as (...xs: tf.Tensor[]) => tf.Scalar);
      const stock = await gradsOn(
        'cpu',
        'stock',
        inputs,
        loss as (...xs: tf.Tensor[]) => tf.Scalar,
      );
      fast.forEach((g, i) => {
        assert.ok(
          relativeError(g, stock[i]) < 1e-5,
          `${name} grad ${i}: ${relativeError(g, stock[i])}`,
        );
      });
    }
  });
});

describe('fused matmul on wasm takes every bias tfjs-core allows', () => {
  it('a reshaped rank-1, a [1, n] and a per-row [m, n] bias, under each activation, as stock cpu', async () => {
    const a = { values: randomValues(6 * 9, 5), shape: [6, 9] };
    const b = { values: randomValues(9 * 5, 6), shape: [9, 5] };
    const row = { values: randomValues(5, 7), shape: [1, 5] };
    const full = { values: randomValues(30, 8), shape: [6, 5] };
    const alpha = tfjs.tensor(randomValues(5, 9));
    const cases: Array<
      [string, { values: Float32Array; shape: number[] }, (c: tf.Tensor) => tf.Tensor]
    > = [
      ['reshaped rank 1', row, (c) => c.reshape([5])],
      ['[1, n]', row, (c) => c],
      ['[m, n]', full, (c) => c],
    ];
    const activations = [
      'linear',
      'relu',
      'relu6',
      'elu',
      'sigmoid',
      'leakyrelu',
      'prelu',
    ] as const;
    for (const [name, bias, shape] of cases)
      for (const activation of activations) {
        const loss = (x: tf.Tensor, w: tf.Tensor, c: tf.Tensor) => {
          const y = tfjs.fused.matMul({
            a: x as tf.Tensor2D,
            b: w as tf.Tensor2D,
            bias: shape(c),
            activation,
            preluActivationWeights: activation === 'prelu' ? alpha : undefined,
            leakyreluAlpha: 0.1,
          });
          return tfjs.sum(tfjs.mul(y, tfjs.range(0, y.size).reshape(y.shape).sin())) as tf.Scalar;
        };
        const fast = await gradsOn('wasm', 'fast', [a, b, bias], loss);
        const stock = await gradsOn('cpu', 'stock', [a, b, bias], loss);
        fast.forEach((g, i) => {
          assert.ok(
            relativeError(g, stock[i]) < 1e-5,
            `${name} ${activation} grad ${i}: ${relativeError(g, stock[i])}`,
          );
        });
      }
    alpha.dispose();
  });
});
