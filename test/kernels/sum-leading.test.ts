import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { useFastKernels, useStockKernels } from '../../src/kernels/index.js';
import { leadingAxes } from '../../src/kernels/sum-leading.js';
import { BACKENDS, useBackend } from '../helpers.js';
import { randomValues, relativeError } from './reference.js';

async function sumOn(
  backend: string,
  kernels: 'fast' | 'stock',
  values: Float32Array,
  shape: number[],
  axis: number | number[],
  keepDims: boolean,
): Promise<{ values: Float32Array; shape: number[] }> {
  await useBackend(backend);
  if (kernels === 'fast') useFastKernels();
  try {
    return tf.tidy(() => {
      const y = tf.sum(tf.tensor(values, shape), axis, keepDims);
      return { values: y.dataSync() as Float32Array, shape: y.shape };
    });
  } finally {
    useStockKernels();
  }
}

describe('fast Sum over leading axes matches stock tfjs', () => {
  it('recognises leading axes only', () => {
    assert.equal(leadingAxes([4, 5, 6], [0, 1]), 2);
    assert.equal(leadingAxes([4, 5, 6], [1, 0]), 2);
    assert.equal(leadingAxes([4, 5, 6], -3), 1);
    assert.equal(leadingAxes([4, 5, 6], [1, 2]), undefined);
  });

  for (const backend of BACKENDS) {
    it(`bias-gradient shapes, keepDims, and the stock fallback (${backend})`, async () => {
      const cases: [number[], number | number[], boolean][] = [
        [[8, 5, 5, 6], [0, 1, 2], false],
        [[8, 5, 5, 6], [0, 1, 2], true],
        [[7, 3], 0, false],
        [[4, 3, 2], [0, 1, 2], false],
        [[4, 3, 2], [1, 2], false],
      ];
      for (const [i, [shape, axis, keepDims]] of cases.entries()) {
        const values = randomValues(
          shape.reduce((p, q) => p * q, 1),
          500 + i,
        );
        const fast = await sumOn(backend, 'fast', values, shape, axis, keepDims);
        const stock = await sumOn('cpu', 'stock', values, shape, axis, keepDims);
        assert.deepEqual(fast.shape, stock.shape);
        assert.ok(relativeError(fast.values, stock.values) < 1e-6, `case ${i}`);
      }
    });
  }
});
