import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { useFastKernels, useStockKernels } from '../../src/kernels/index.js';
import { useBackend } from '../helpers.js';
import { gradsOn, randomValues } from './reference.js';

const SHAPE = [6, 3, 4, 2];
/** Contiguous runs (rows, a row's tail, one element) and strided cuts. */
const CASES: { begin: number[]; size: number[] }[] = [
  { begin: [2, 0, 0, 0], size: [3, 3, 4, 2] },
  { begin: [0, 0, 0, 0], size: [6, 3, 4, 2] },
  { begin: [5, 1, 0, 0], size: [1, 2, 4, 2] },
  { begin: [3, 2, 1, 1], size: [1, 1, 1, 1] },
  { begin: [1, 0, 1, 0], size: [4, 3, 2, 2] },
  { begin: [0, 0, 0, 1], size: [6, 3, 4, 1] },
];

/** Slices of a seeded tensor of SHAPE with the current kernels, as arrays. */
function slices(dtype: 'float32' | 'int32'): number[][] {
  return tf.tidy(() => {
    const v = randomValues(tf.util.sizeFromShape(SHAPE), 31);
    const x = tf.tensor(
      dtype === 'int32' ? Int32Array.from(v, (a) => Math.round(a * 9)) : v,
      SHAPE,
    );
    return CASES.map(({ begin, size }) => Array.from(tf.slice(x, begin, size).dataSync()));
  });
}

describe('fast wasm Slice (contiguous runs copied heap to heap)', () => {
  it('gives stock cpu values for contiguous and strided slices, float32 and int32', async () => {
    for (const dtype of ['float32', 'int32'] as const) {
      await useBackend('cpu');
      useStockKernels();
      const expected = slices(dtype);
      await useBackend('wasm');
      useFastKernels();
      try {
        assert.deepEqual(slices(dtype), expected, dtype);
      } finally {
        useStockKernels();
      }
    }
  });

  it('reads no copy of the input out of the heap for a run of rows (stock reads it whole)', async () => {
    await useBackend('wasm');
    const backend = tf.backend() as unknown as { readSync: (...a: unknown[]) => unknown };
    const x = tf.ones(SHAPE);
    const reads = (kernels: 'fast' | 'stock') => {
      if (kernels === 'fast') useFastKernels();
      else useStockKernels();
      const orig = backend.readSync;
      let n = 0;
      backend.readSync = (...a: unknown[]) => {
        n++;
        return orig.apply(backend, a);
      };
      try {
        tf.slice(x, [2, 0, 0, 0], [3, 3, 4, 2]).dispose();
      } finally {
        backend.readSync = orig;
        useStockKernels();
      }
      return n;
    };
    assert.equal(reads('stock'), 1, 'stock wasm Slice copies its input out (the case this fixes)');
    assert.equal(reads('fast'), 0);
    x.dispose();
  });

  it('keeps the gradient and leaks nothing', async () => {
    const input = { values: randomValues(tf.util.sizeFromShape(SHAPE), 32), shape: SHAPE };
    const w = randomValues(3 * 3 * 4 * 2, 33);
    const loss = (a: tf.Tensor) =>
      tf.sum(tf.mul(tf.slice(a, [2, 0, 0, 0], [3, 3, 4, 2]), tf.tensor(w, [3, 3, 4, 2])));
    const [fast] = await gradsOn('wasm', 'fast', [input], loss as (a: tf.Tensor) => tf.Scalar);
    const [stock] = await gradsOn('cpu', 'stock', [input], loss as (a: tf.Tensor) => tf.Scalar);
    assert.deepEqual(Array.from(fast), Array.from(stock));
    await useBackend('wasm');
    useFastKernels();
    try {
      const x = tf.ones(SHAPE);
      const before = tf.memory().numTensors;
      for (let i = 0; i < 3; i++) tf.slice(x, [i, 0, 0, 0], [2, 3, 4, 2]).dispose();
      assert.equal(tf.memory().numTensors, before);
      x.dispose();
    } finally {
      useStockKernels();
    }
  });
});
