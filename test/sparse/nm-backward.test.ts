import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { makeRng, normal } from '../../src/engine/random.js';
import { fastKernelsActive } from '../../src/engine/settings.js';
import { useFastKernels, useStockKernels } from '../../src/kernels/index.js';
import type { GradPrune } from '../../src/sparse/grad-prune.js';
import { maskAlongAxis } from '../../src/sparse/mvue.js';
import {
  type KernelUse,
  type NMKernelMode,
  nmKernelWins,
  nmWeightGrad,
  SparseGradDense,
  sparseGradMatMul,
} from '../../src/sparse/sparse-grad-dense.js';
import { maxAbsDiff, useBackend } from '../helpers.js';

function gaussian(shape: [number, number], seed: number): tf.Tensor2D {
  const rng = makeRng(seed);
  return tf.tensor2d(
    Float32Array.from({ length: shape[0] * shape[1] }, () => normal(rng)),
    shape,
  );
}

/** dx and dW of sum(y * c) through sparseGradMatMul, with the mask drawn from `seed`. */
function grads(
  x: tf.Tensor2D,
  w: tf.Tensor2D,
  c: tf.Tensor2D,
  spec: GradPrune,
  mode: NMKernelMode,
  use: KernelUse,
  seed = 5,
): tf.Tensor[] {
  const rng = makeRng(seed);
  const f = (xa: tf.Tensor, wa: tf.Tensor) =>
    tf.sum(
      tf.mul(
        sparseGradMatMul(
          xa as tf.Tensor2D,
          wa as tf.Tensor2D,
          spec,
          rng,
          false,
          undefined,
          mode,
          use,
        ),
        c,
      ),
    );
  return tf.grads(f)([x, w]);
}

describe('N:M compressed kernel in the backward of sparse-gradient Dense', () => {
  before(async () => {
    await useBackend('cpu');
  });

  it('nmWeightGrad equals x^T dy on an N:M-masked dy (2:4, 1:2)', () => {
    for (const [n, m] of [
      [2, 4],
      [1, 2],
    ]) {
      const x = gaussian([32, 20], 1);
      const dy = gaussian([32, 12], 2);
      const masked = tf.tensor2d(
        maskAlongAxis(dy.dataSync(), [32, 12], 0, { n, m, kind: 'mvue' }, makeRng(3)),
        [32, 12],
      );
      const sparse = nmWeightGrad(x, masked, n, m) as tf.Tensor2D;
      const dense = tf.matMul(x, masked, true, false);
      assert.deepEqual(sparse.shape, [20, 12]);
      assert.ok(maxAbsDiff(sparse, dense) < 1e-5, `${n}:${m}: ${maxAbsDiff(sparse, dense)}`);
      const [x31, m31] = [x.slice(0, 31), masked.slice(0, 31)];
      assert.equal(nmWeightGrad(x31, m31, n, m), null, 'a batch of 31 is not a multiple of M');
      tf.dispose([x, dy, masked, sparse, dense, x31, m31]);
    }
  });

  it('the layer gradients with the kernel on equal the tf.matMul ones (same masks), for mvue and magnitude', () => {
    const x = gaussian([64, 24], 7);
    const w = gaussian([24, 16], 8);
    const c = gaussian([64, 16], 9);
    for (const spec of [
      { n: 2, m: 4, kind: 'mvue' },
      { n: 1, m: 2, kind: 'mvue' },
      { n: 2, m: 4, kind: 'magnitude' },
    ] as GradPrune[]) {
      const on = { nm: 0, dense: 0 };
      const off = { nm: 0, dense: 0 };
      const before = tf.memory().numTensors;
      const [dxOn, dwOn] = grads(x, w, c, spec, 'on', on);
      const [dxOff, dwOff] = grads(x, w, c, spec, 'off', off);
      assert.deepEqual(on, { nm: 1, dense: 0 });
      assert.deepEqual(off, { nm: 0, dense: 1 });
      assert.ok(maxAbsDiff(dwOn, dwOff) < 1e-4, `dW ${JSON.stringify(spec)}`);
      assert.equal(maxAbsDiff(dxOn, dxOff), 0, 'dx does not go through the kernel');
      tf.dispose([dxOn, dwOn, dxOff, dwOff]);
      assert.equal(tf.memory().numTensors, before, 'no leaks');
    }
    tf.dispose([x, w, c]);
  });

  it('a batch that is not a multiple of M and stochastic pruning take tf.matMul', () => {
    const x = gaussian([30, 8], 1);
    const w = gaussian([8, 4], 2);
    const c = gaussian([30, 4], 3);
    const use = { nm: 0, dense: 0 };
    tf.dispose(grads(x, w, c, { n: 2, m: 4, kind: 'mvue' }, 'on', use));
    tf.dispose(grads(x, w, c, { kind: 'stochastic', p: 0.5 }, 'on', use));
    assert.deepEqual(use, { nm: 0, dense: 2 });
    tf.dispose([x, w, c]);
  });

  it("'auto' turns it on for stock cpu kernels only (where the bench measured it faster)", () => {
    const wasFast = fastKernelsActive();
    const x = gaussian([16, 8], 1);
    const w = gaussian([8, 4], 2);
    const c = gaussian([16, 4], 3);
    try {
      useStockKernels();
      assert.equal(nmKernelWins(), true);
      const stock = { nm: 0, dense: 0 };
      tf.dispose(grads(x, w, c, { n: 2, m: 4, kind: 'mvue' }, 'auto', stock));
      assert.deepEqual(stock, { nm: 1, dense: 0 });
      useFastKernels();
      assert.equal(nmKernelWins(), false);
      const fast = { nm: 0, dense: 0 };
      tf.dispose(grads(x, w, c, { n: 2, m: 4, kind: 'mvue' }, 'auto', fast));
      assert.deepEqual(fast, { nm: 0, dense: 1 });
    } finally {
      if (wasFast) useFastKernels();
      else useStockKernels();
      tf.dispose([x, w, c]);
    }
  });

  it('the layer takes nmKernel, keeps it in its config, and refuses an unknown mode', () => {
    const layer = new SparseGradDense({
      units: 4,
      gradSparsity: { n: 2, m: 4, kind: 'mvue' },
      nmKernel: 'on',
    });
    assert.equal(layer.getConfig().nmKernel, 'on');
    assert.throws(
      () =>
        new SparseGradDense({
          units: 4,
          gradSparsity: { n: 2, m: 4, kind: 'mvue' },
          nmKernel: 'fast' as NMKernelMode,
        }),
      /nmKernel must be one of auto, on, off, got 'fast'/,
    );
  });
});
