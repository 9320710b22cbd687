import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import {
  CONV2D_GRADS,
  DEPTHWISE_GRADS,
  flipConv2dFilter,
  flipDepthwiseFilter,
} from '../../src/activation/backward/conv-grad.js';
import { useFastKernels, useStockKernels } from '../../src/kernels/index.js';
import { maxAbsDiff, useBackend } from '../helpers.js';

// The filter gradient runs frugal's fast Conv2DBackpropFilter kernel where it is installed: both
// paths against tfjs's own gradients (taken with the stock kernels).
for (const fast of [false, true])
  describe(`conv2d gradients from forward convolutions${fast ? ' (fast kernels installed)' : ''}`, () => {
    before(() => useBackend('cpu'));
    const cases: [number, number, number, number, number, 'valid' | 'same'][] = [
      // h, w, k, stride h, stride w, padding
      [6, 6, 3, 1, 1, 'valid'],
      [6, 7, 3, 1, 1, 'same'],
      [7, 7, 3, 2, 2, 'same'],
      [8, 7, 3, 2, 1, 'valid'],
      [5, 5, 1, 2, 2, 'same'],
      [9, 9, 2, 3, 3, 'valid'],
    ];
    // Each kind of convolution: its forward, its gradients, the filter's output channels and the
    // seeds of x, the filter and dy.
    const kinds = [
      { name: '', op: tf.conv2d, grads: CONV2D_GRADS, out: 4, seeds: [1, 2, 3] },
      {
        name: 'depthwise: ',
        op: tf.depthwiseConv2d,
        grads: DEPTHWISE_GRADS,
        out: 1,
        seeds: [4, 5, 6],
      },
    ];
    for (const [h, w, k, sh, sw, pad] of cases) {
      for (const { name, op, grads, out, seeds } of kinds) {
        it(`${name}match tf.grads for ${h}x${w}, k${k}, stride ${sh}x${sw}, ${pad}`, () => {
          tf.tidy(() => {
            const x = tf.randomNormal([2, h, w, 3], 0, 1, 'float32', seeds[0]) as tf.Tensor4D;
            const f = tf.randomNormal([k, k, 3, out], 0, 1, 'float32', seeds[1]) as tf.Tensor4D;
            const y = op(x, f, [sh, sw], pad);
            const dy = tf.randomNormal(y.shape, 0, 1, 'float32', seeds[2]) as tf.Tensor4D;
            const [gx, gf] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
              op(a as tf.Tensor4D, b as tf.Tensor4D, [sh, sw], pad),
            )([x, f], dy);
            if (fast) useFastKernels();
            let dx: tf.Tensor;
            let df: tf.Tensor;
            try {
              dx = grads.input(dy, f, x.shape, [sh, sw], pad);
              df = grads.filter(x, dy, f.shape, [sh, sw], pad);
            } finally {
              if (fast) useStockKernels();
            }
            assert.deepEqual(dx.shape, x.shape);
            assert.deepEqual(df.shape, f.shape);
            assert.ok(maxAbsDiff(dx, gx) < 1e-4, `dx ${maxAbsDiff(dx, gx)}`);
            assert.ok(maxAbsDiff(df, gf) < 1e-3, `dw ${maxAbsDiff(df, gf)}`);
          });
        });
      }
    }
  });

describe('flipped filters of the input gradients', () => {
  // On wasm the flips are one JS pass over the tensors' memory; elsewhere tf.reverse.
  for (const backend of ['cpu', 'wasm'] as const) {
    it(`equal tf.reverse (and the channel swap) exactly on ${backend}`, async () => {
      await useBackend(backend);
      const shapes: [number, number, number, number][] = [
        [3, 3, 32, 64],
        [1, 5, 3, 2],
        [2, 3, 1, 7],
      ];
      for (const shape of shapes) {
        const w = tf.randomNormal(shape, 0, 1, 'float32', shape[3]) as tf.Tensor4D;
        const before = tf.memory().numTensors;
        const f = flipConv2dFilter(w);
        const ref = tf.tidy(() => tf.reverse(w, [0, 1]).transpose([0, 1, 3, 2]));
        assert.deepEqual(f.shape, ref.shape);
        assert.deepEqual(Array.from(f.dataSync()), Array.from(ref.dataSync()));
        const dw = tf.randomNormal([shape[0], shape[1], shape[2], 1], 0, 1, 'float32', 9);
        const fd = flipDepthwiseFilter(dw as tf.Tensor4D);
        const refd = tf.reverse(dw, [0, 1]);
        assert.deepEqual(Array.from(fd.dataSync()), Array.from(refd.dataSync()));
        tf.dispose([f, ref, fd, refd, dw]);
        assert.equal(tf.memory().numTensors, before, 'no tensor left behind');
        w.dispose();
      }
    });
  }
});
