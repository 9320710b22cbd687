// frugal's wasm transpose (the compressed dense backward's) equals tf.transpose exactly, on
// shapes with and without remainders of the 4 x 4 SIMD blocks, and leaves nothing behind.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import {
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
