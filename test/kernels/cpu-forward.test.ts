import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { useFastKernels, useStockKernels } from '../../src/kernels/index.js';
import { useBackend } from '../helpers.js';
import { randomValues, relativeError } from './reference.js';

/** Runs `f` on cpu with fast and with stock kernels; returns both results as arrays. */
async function fastAndStock(f: () => tf.Tensor): Promise<[Float32Array, Float32Array]> {
  await useBackend('cpu');
  useFastKernels();
  const fast = tf.tidy(() => f().dataSync() as Float32Array);
  useStockKernels();
  const stock = tf.tidy(() => f().dataSync() as Float32Array);
  return [fast, stock];
}

const t = (shape: number[], seed: number) =>
  tf.tensor(
    randomValues(
      shape.reduce((p, q) => p * q, 1),
      seed,
    ),
    shape,
  );

describe('fast cpu forward kernels (blocked GEMM, flat elementwise) match stock cpu', () => {
  it('conv2d: strides, pads, dilation, odd sizes, fused bias + relu', async () => {
    const cases: [number[], number[], number | [number, number], 'same' | 'valid', number][] = [
      [[2, 7, 6, 3], [3, 3, 3, 5], 1, 'valid', 1],
      [[1, 9, 8, 2], [3, 2, 2, 7], [2, 1], 'same', 1],
      [[3, 9, 9, 1], [3, 3, 1, 4], 1, 'same', 2],
      [[1, 5, 5, 6], [1, 1, 6, 3], 2, 'valid', 1],
    ];
    for (const [i, [xs, ws, s, pad, d]] of cases.entries()) {
      const [fast, stock] = await fastAndStock(() =>
        tf.conv2d(t(xs, i) as tf.Tensor4D, t(ws, 10 + i) as tf.Tensor4D, s, pad, 'NHWC', d),
      );
      assert.ok(relativeError(fast, stock) < 1e-5, `conv case ${i}`);
      const [ff, sf] = await fastAndStock(() =>
        tf.fused.conv2d({
          x: t(xs, i) as tf.Tensor4D,
          filter: t(ws, 10 + i) as tf.Tensor4D,
          strides: s,
          pad,
          dilations: d,
          bias: t([ws[3]], 20 + i),
          activation: 'relu',
        }),
      );
      assert.ok(relativeError(ff, sf) < 1e-5, `fused conv case ${i}`);
    }
  });

  it('matmul with transposes, rank 3 batch 1, fused bias + relu', async () => {
    for (const [ta, tb] of [
      [false, false],
      [true, false],
      [false, true],
      [true, true],
    ]) {
      const [fast, stock] = await fastAndStock(() =>
        tf.matMul(t(ta ? [9, 6] : [6, 9], 1), t(tb ? [5, 9] : [9, 5], 2), ta, tb),
      );
      assert.ok(relativeError(fast, stock) < 1e-5, `matmul ${ta} ${tb}`);
    }
    const [f3, s3] = await fastAndStock(() => tf.matMul(t([1, 7, 3], 3), t([1, 3, 2], 4)));
    assert.ok(relativeError(f3, s3) < 1e-5, 'rank 3');
    await useBackend('cpu');
    useFastKernels();
    assert.deepEqual(
      tf.tidy(() => tf.matMul(t([1, 1, 7, 3], 3), t([3, 2], 4)).shape),
      [1, 1, 7, 2],
    );
    useStockKernels();
    const [ff, sf] = await fastAndStock(() =>
      tf.fused.matMul({ a: t([6, 9], 5), b: t([9, 5], 6), bias: t([5], 7), activation: 'relu' }),
    );
    assert.ok(relativeError(ff, sf) < 1e-5, 'fused');
  });

  it('Add/Sub/Multiply/RealDiv: same shape, scalars on either side, bias broadcast, fallback', async () => {
    const pairs: [number[], number[]][] = [
      [
        [4, 5],
        [4, 5],
      ],
      [[4, 5], []],
      [[], [4, 5]],
      [[2, 3, 4], [4]],
      [[4], [2, 3, 4]],
      [
        [2, 3, 4],
        [1, 3, 4],
      ],
      [
        [2, 3, 4],
        [2, 1, 4],
      ],
    ];
    for (const op of [tf.add, tf.sub, tf.mul, tf.div]) {
      for (const [i, [sa, sb]] of pairs.entries()) {
        const [fast, stock] = await fastAndStock(() => op(t(sa, 30 + i), tf.add(t(sb, 40 + i), 3)));
        assert.deepEqual(Array.from(fast), Array.from(stock), `${op.name} [${sa}] [${sb}]`);
      }
    }
  });
});
