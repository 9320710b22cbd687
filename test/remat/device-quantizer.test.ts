import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { makeRng } from '../../src/engine/random.js';
import {
  CODES_PER_WORD,
  dequantizeTensor,
  disposePacked,
  GROUP_SIZE,
  packedTensorBytes,
  quantizeTensor,
} from '../../src/remat/device-quantizer.js';
import { BACKENDS, useBackend } from '../helpers.js';

describe('per-group stochastic quantizer (tfjs ops)', () => {
  for (const backend of BACKENDS) {
    it(`stays within one level of each value, keeps shape, packs codes (${backend})`, async () => {
      await useBackend(backend);
      const x = tf.randomNormal([3, 7, 50], 0, 3, 'float32', 1); // 1050 values: a partial group
      const before = tf.memory().numTensors;
      for (const bits of [2, 4, 8]) {
        const p = quantizeTensor(x, bits, makeRng(bits));
        const y = dequantizeTensor(p);
        assert.deepEqual(y.shape, x.shape);
        const xs = x.dataSync();
        const ys = y.dataSync();
        const scales = p.scales.dataSync();
        for (let i = 0; i < xs.length; i++) {
          const step = scales[Math.floor(i / GROUP_SIZE)];
          assert.ok(Math.abs(ys[i] - xs[i]) <= step * 1.0001 + 1e-6, `bits ${bits} value ${i}`);
        }
        const groups = Math.ceil(1050 / GROUP_SIZE);
        assert.equal(p.words.size, Math.ceil((groups * GROUP_SIZE) / CODES_PER_WORD[bits]));
        assert.ok(packedTensorBytes(p) < (4 * 1050 * (bits + 1)) / 16, `bits ${bits} bytes`);
        y.dispose();
        disposePacked(p);
      }
      assert.equal(tf.memory().numTensors, before, 'no leak');
      x.dispose();
    });
  }

  it('is unbiased: the mean over seeds converges to the value (2 bits)', async () => {
    await useBackend('wasm');
    const x = tf.randomNormal([600], 0, 2, 'float32', 5);
    const xs = x.dataSync();
    const n = 300;
    const sum = new Float64Array(xs.length);
    const rng = makeRng(9);
    let scales = new Float32Array(0);
    for (let s = 0; s < n; s++) {
      const p = quantizeTensor(x, 2, rng);
      const y = dequantizeTensor(p).dataSync();
      scales = Float32Array.from(p.scales.dataSync());
      for (let i = 0; i < xs.length; i++) sum[i] += y[i];
      disposePacked(p);
    }
    // One estimate has variance <= step^2/4, so the mean of n has sd <= step / (2 sqrt n).
    let worst = 0;
    let meanAbs = 0;
    for (let i = 0; i < xs.length; i++) {
      const sd = scales[Math.floor(i / GROUP_SIZE)] / (2 * Math.sqrt(n));
      worst = Math.max(worst, Math.abs(sum[i] / n - xs[i]) / sd);
      meanAbs += Math.abs(sum[i] / n - xs[i]);
    }
    assert.ok(worst < 5, `largest error ${worst.toFixed(2)} standard deviations`);
    // Rounding to nearest would be off by up to half a step (about step/4 on average).
    assert.ok(meanAbs / xs.length < scales[0] / 20);
    x.dispose();
  });

  it('keeps constant groups exact and rejects impossible bit widths', async () => {
    await useBackend('cpu');
    const c = tf.fill([300], 1.5);
    const p = quantizeTensor(c, 2, makeRng(1));
    const y = dequantizeTensor(p);
    assert.ok(Array.from(y.dataSync()).every((v) => v === 1.5));
    tf.dispose([c, y]);
    disposePacked(p);
    const x = tf.ones([4]);
    assert.throws(() => quantizeTensor(x, 3, makeRng(1)), /bits must be one of 2, 4, 8/);
    assert.throws(() => quantizeTensor(x.toInt(), 2, makeRng(1)), /needs a float32 tensor/);
    x.dispose();
  });
});
