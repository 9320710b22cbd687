// frugal's wasm transpose (the compressed dense backward's) equals tf.transpose exactly, on
// shapes with and without remainders of the 4 x 4 SIMD blocks, and leaves nothing behind.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import {
  denseInputGradWasm,
  transposeMatrix,
  wasmTransposeAvailable,
} from '../../src/activation/backward/transpose-wasm.js';
import { wasmKernels } from '../../src/wasm/module.js';
import { useBackend } from '../helpers.js';

describe('transposeMatrix', () => {
  it('takes the wasm path on the wasm backend only', async () => {
    await useBackend('cpu');
    assert.equal(wasmTransposeAvailable(), false);
    await useBackend('wasm');
    assert.equal(wasmTransposeAvailable(), true);
  });
  for (const [r, c] of [
    [1, 1],
    [7, 5],
    [8, 12],
    [9216, 14],
    [13, 130],
  ]) {
    it(`${r} x ${c} equals tf.transpose`, async () => {
      await useBackend('wasm');
      const w = tf.randomNormal([r, c], 0, 1, 'float32', r + c) as tf.Tensor2D;
      const before = tf.memory().numTensors;
      const t = transposeMatrix(w);
      assert.equal(tf.memory().numTensors, before + 1);
      assert.deepEqual(t.shape, [c, r]);
      const ref = tf.transpose(w);
      assert.deepEqual(Array.from(t.dataSync()), Array.from(ref.dataSync()));
      tf.dispose([w, t, ref]);
      assert.equal(wasmKernels().heap.liveBlocks, 0);
    });
  }
});

describe('denseInputGradWasm (dz w^T for a few rows)', () => {
  // n: rows of w, not a multiple of the 64 KiB block of rows (128 rows of 128) in the first case.
  for (const [rows, k, n] of [
    [4, 128, 1000],
    [1, 8, 3],
    [3, 4, 130],
    [5, 12, 17],
    [2, 2048, 9],
  ]) {
    it(`${rows} x ${k} by ${n} x ${k}: tf.matMul(dz, w, false, true) up to rounding`, async () => {
      await useBackend('wasm');
      const dz = tf.randomNormal([rows, k], 0, 1, 'float32', rows + k) as tf.Tensor2D;
      const w = tf.randomNormal([n, k], 0, 1, 'float32', n) as tf.Tensor2D;
      const before = tf.memory().numTensors;
      const got = denseInputGradWasm(dz, w);
      assert.ok(got !== null, 'the wasm path runs');
      const want = tf.matMul(dz, w, false, true);
      assert.deepEqual(got.shape, [rows, n]);
      const err = tf.tidy(() => tf.max(tf.abs(tf.sub(got, want))).dataSync()[0]);
      // Float32 sums of k products of unit normals: rounding of order sqrt(k) * 2^-24 * k.
      assert.ok(err < 1e-6 * k, `max error ${err}`);
      tf.dispose([got, want]);
      assert.equal(tf.memory().numTensors, before, 'no tensor left behind');
      assert.equal(wasmKernels().heap.liveBlocks, 0, 'no wasm heap block left behind');
      tf.dispose([dz, w]);
    });
  }
  it('steps aside (null) for units not a multiple of 4 and off the wasm backend', async () => {
    await useBackend('wasm');
    const ones = (r: number, c: number) => tf.ones([r, c]) as tf.Tensor2D;
    const [a, b, c] = [ones(2, 6), ones(3, 6), ones(3, 4)];
    assert.equal(denseInputGradWasm(a, b), null);
    assert.throws(() => denseInputGradWasm(ones(2, 8), c), /8 columns/);
    tf.dispose([a, b, c]);
    await useBackend('cpu');
    const [d, e] = [ones(2, 8), ones(3, 8)];
    assert.equal(denseInputGradWasm(d, e), null);
    tf.dispose([d, e]);
  });
});
