import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { makeRng, normal } from '../../src/engine/random.js';
import { sparseGradConv2d } from '../../src/sparse/sparse-grad-conv.js';
import { maxAbsDiff, useBackend } from '../helpers.js';

function randn(shape: [number, number, number, number], seed: number): tf.Tensor4D {
  const rng = makeRng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor4d(
    Float32Array.from({ length: n }, () => normal(rng)),
    shape,
  );
}

describe('sparseGradConv2d: N:M-masked filter gradient', () => {
  before(() => useBackend('cpu'));

  it('forward and input gradient equal conv2d; mean filter gradient equals the dense one; no leaks', () => {
    const x = randn([8, 5, 5, 2], 1);
    const w = randn([3, 3, 2, 3], 2);
    const c = randn([8, 3, 3, 3], 3); // 'valid', stride 1: output 3x3
    const spec = { n: 2, m: 4, kind: 'mvue' } as const;
    const rng = makeRng(4);
    const y = sparseGradConv2d(x, w, 1, 'valid', spec, rng);
    const yRef = tf.conv2d(x, w, 1, 'valid');
    assert.ok(maxAbsDiff(y, yRef) < 1e-5);
    const loss = (xv: tf.Tensor, wv: tf.Tensor) =>
      tf.sum(
        tf.mul(sparseGradConv2d(xv as tf.Tensor4D, wv as tf.Tensor4D, 1, 'valid', spec, rng), c),
      );
    const lossRef = (xv: tf.Tensor, wv: tf.Tensor) =>
      tf.sum(tf.mul(tf.conv2d(xv as tf.Tensor4D, wv as tf.Tensor4D, 1, 'valid'), c));
    const [, dwRef] = tf.grads(lossRef)([x, w]);
    const dense = dwRef.dataSync();
    const g = tf.grads(loss);
    const draws = 300;
    const sum = new Float64Array(dense.length);
    const sq = new Float64Array(dense.length);
    g([x, w]).forEach((t) => {
      t.dispose();
    });
    const before = tf.memory().numTensors;
    for (let d = 0; d < draws; d++) {
      const [dx, dw] = g([x, w]);
      if (d === 0) {
        const refs = tf.grads(lossRef)([x, w]);
        assert.ok(maxAbsDiff(dx, refs[0]) < 1e-4, 'input gradient is not the dense one');
        tf.dispose(refs);
      }
      const v = dw.dataSync();
      for (let i = 0; i < v.length; i++) {
        sum[i] += v[i];
        sq[i] += v[i] * v[i];
      }
      tf.dispose([dx, dw]);
    }
    assert.ok(tf.memory().numTensors === before, 'tensors leaked');
    for (let i = 0; i < dense.length; i++) {
      const mean = sum[i] / draws;
      const se = Math.sqrt(Math.max(0, sq[i] / draws - mean * mean) / draws);
      const z = Math.abs(mean - dense[i]) / Math.max(se, 1e-6);
      assert.ok(z < 5, `entry ${i}: mean ${mean} dense ${dense[i]} z ${z}`);
    }
    tf.dispose([x, w, c, y, yRef, dwRef]);
  });
});
