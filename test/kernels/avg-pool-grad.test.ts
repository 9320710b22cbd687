import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { BACKENDS, useBackend } from '../helpers.js';
import { gradsOn, randomValues, relativeError } from './reference.js';

type Pad = 'valid' | 'same' | number;
const cases: { shape: number[]; size: [number, number]; stride: [number, number]; pad: Pad }[] = [
  { shape: [2, 6, 6, 3], size: [2, 2], stride: [2, 2], pad: 'valid' },
  { shape: [1, 7, 5, 2], size: [3, 3], stride: [2, 2], pad: 'same' },
  { shape: [2, 5, 5, 2], size: [3, 3], stride: [1, 1], pad: 'same' },
  { shape: [1, 6, 7, 1], size: [2, 3], stride: [2, 1], pad: 'same' },
  { shape: [1, 5, 6, 2], size: [3, 2], stride: [2, 2], pad: 1 },
];

/**
 * The exact gradient of sum(avgPool(x) * r) with respect to x, from the forward alone: avgPool is
 * linear, so d/dx_i = <r, avgPool(e_i)>, where e_i is the i-th unit input. All e_i of one sample
 * go through the backend's forward as one batch; the dot products are taken in float64.
 */
function denseReference(k: (typeof cases)[number], r: Float32Array): Float64Array {
  const [n, h, w, c] = k.shape as [number, number, number, number];
  const per = h * w * c;
  const dx = new Float64Array(n * per);
  const units = tf.tidy(() => {
    const basis = tf.reshape(tf.eye(per), [per, h, w, c]) as tf.Tensor4D;
    return tf.avgPool(basis, k.size, k.stride, k.pad).dataSync() as Float32Array;
  });
  const outPer = units.length / per;
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < per; i++) {
      let s = 0;
      for (let j = 0; j < outPer; j++) s += units[i * outPer + j] * r[b * outPer + j];
      dx[b * per + i] = s;
    }
  }
  return dx;
}

describe('fast AvgPoolGrad is the exact gradient of the AvgPool forward', () => {
  for (const backend of BACKENDS) {
    it(`matches the dense-matrix reference of the ${backend} forward, cut windows included`, async () => {
      for (const [i, k] of cases.entries()) {
        // Stock wasm's AvgPool forward with numeric padding writes out of bounds (tfjs 4.22).
        if (backend === 'wasm' && typeof k.pad === 'number') continue;
        const size = k.shape.reduce((p, q) => p * q, 1);
        const x = { values: randomValues(size, 500 + i), shape: k.shape };
        await useBackend(backend);
        const outSize = tf.tidy(
          () =>
            tf.avgPool(tf.zeros(k.shape) as unknown as tf.Tensor4D, k.size, k.stride, k.pad).size,
        );
        const r = randomValues(outSize, 600 + i);
        const reference = denseReference(k, r);
        const loss = (a: tf.Tensor) => {
          const y = tf.avgPool(a as tf.Tensor4D, k.size, k.stride, k.pad);
          return tf.sum(tf.mul(y, tf.tensor(r, y.shape))) as tf.Scalar;
        };
        const [fast] = await gradsOn(backend, 'fast', [x], loss);
        const err = relativeError(fast, reference);
        assert.ok(err < 1e-6, `case ${i} (${k.pad}): ${err}`);
        const [stock] = await gradsOn(backend, 'stock', [x], loss);
        const stockErr = relativeError(stock, reference);
        // Stock tfjs divides by the full window where padding cuts it (not the forward's count).
        if (k.pad === 'valid') assert.ok(stockErr < 1e-6, `case ${i}: stock ${stockErr}`);
        else assert.ok(stockErr > 0.05, `case ${i}: stock tfjs now exact? (${stockErr})`);
      }
    });
  }
});
