import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { kernelFlops, profiledFlops } from '../../bench/lib/step-flops.js';
import { useBackend } from '../helpers.js';

describe('bench/lib step FLOPs', () => {
  it('a conv step: forward, input and filter gradients each count 2 x output x taps', async () => {
    await useBackend('cpu');
    const x = tf.randomNormal([2, 5, 5, 3]) as tf.Tensor4D;
    const f = tf.randomNormal([3, 3, 3, 4]) as tf.Tensor4D;
    const { byKernel } = await profiledFlops(tf, () => {
      const g = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same').sum(),
      )([x, f]);
      tf.dispose(g);
    });
    // Output 2 x 5 x 5 x 4 = 200 values, 3 x 3 x 3 = 27 taps each.
    const want = 2 * 200 * 27;
    assert.deepEqual(byKernel, {
      Conv2D: want,
      Conv2DBackpropInput: want,
      Conv2DBackpropFilter: want,
    });
    tf.dispose([x, f]);
  });

  it('matmuls count 2 x output x inner size; other kernels count nothing', () => {
    assert.equal(
      kernelFlops(
        'BatchMatMul',
        [
          [1, 2, 3],
          [1, 3, 4],
        ],
        [[1, 2, 4]],
      ),
      2 * 8 * 3,
    );
    assert.equal(
      kernelFlops(
        '_FusedMatMul',
        [
          [5, 6],
          [6, 7],
        ],
        [[5, 7]],
      ),
      2 * 35 * 6,
    );
    assert.equal(
      kernelFlops(
        'FrugalConv2DBackpropFilter',
        [
          [2, 5, 5, 3],
          [2, 5, 5, 4],
        ],
        [[3, 3, 3, 4]],
      ),
      2 * 200 * 27,
    );
    assert.equal(kernelFlops('Relu', [[2, 3]], [[2, 3]]), 0);
    assert.equal(kernelFlops('Conv2D', [], []), 0);
  });
});
