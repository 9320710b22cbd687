import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { useFastKernels, useStockKernels } from '../../src/kernels/index.js';
import { buildCnn } from '../../src/models/cnn.js';
import { ADAM_UPDATE_KERNEL, registerAdamKernel } from '../../src/train/adam-kernel.js';
import { FrugalAdam } from '../../src/train/frugal-adam.js';
import { trainStep } from '../../src/train/step.js';
import { BACKENDS, useBackend } from '../helpers.js';

function batch(n: number) {
  const xs = tf.randomNormal([n, 8, 8, 1], 0, 1, 'float32', 5);
  const labels = [...Array(n).keys()].map((i) => i % 3);
  const ys = tf.oneHot(tf.tensor1d(labels, 'int32'), 3).toFloat() as tf.Tensor2D;
  return { xs, ys, labels: new Int32Array(labels), size: n };
}

/** Weights after `steps` FrugalAdam steps, with the one-pass kernel or with the elementwise ops. */
function train(fused: boolean, steps: number): Float32Array[] {
  if (!fused) {
    tf.unregisterKernel(ADAM_UPDATE_KERNEL, 'cpu');
    tf.unregisterKernel(ADAM_UPDATE_KERNEL, 'wasm');
  }
  try {
    const b = batch(6);
    const model = buildCnn({ inputShape: [8, 8, 1], numClasses: 3, seed: 4 });
    const optimizer = new FrugalAdam(0.01);
    trainStep({ model, optimizer }, b);
    const tensors = tf.memory().numTensors;
    for (let i = 1; i < steps; i++) trainStep({ model, optimizer }, b);
    assert.equal(tf.memory().numTensors, tensors, 'tensors stable across steps');
    const w = model.getWeights().map((t) => t.dataSync() as Float32Array);
    model.dispose();
    optimizer.dispose();
    tf.dispose([b.xs, b.ys]);
    return w;
  } finally {
    registerAdamKernel();
  }
}

describe('FrugalAdam one-pass kernel', () => {
  for (const backend of BACKENDS) {
    it(`equals FrugalAdam's elementwise operations bit for bit (${backend})`, async () => {
      await useBackend(backend);
      // Stock tfjs-wasm has no conv backward kernels: frugal's (the same on cpu) fill in.
      useFastKernels();
      const fused = train(true, 6);
      const ops = train(false, 6);
      useStockKernels();
      assert.equal(fused.length, ops.length);
      for (let k = 0; k < fused.length; k++) {
        let differ = 0;
        for (let i = 0; i < fused[k].length; i++) if (fused[k][i] !== ops[k][i]) differ++;
        assert.equal(differ, 0, `weight ${k}: ${differ} of ${fused[k].length} values differ`);
      }
    });
  }

  it('rejects moments of another shape than the variable', async () => {
    await useBackend('cpu');
    const t = tf.zeros([3]);
    const u = tf.zeros([4]);
    const attrs = {
      beta1: 0.9,
      beta2: 0.999,
      oneMinusBeta1: 0.1,
      oneMinusBeta2: 0.001,
      oneMinusAccBeta1: 0.1,
      oneMinusAccBeta2: 0.001,
      epsilon: 1e-7,
      learningRate: 0.01,
    };
    assert.throws(
      () => tf.engine().runKernel(ADAM_UPDATE_KERNEL, { value: t, m: t, v: u, g: t }, attrs),
      /v has shape \[4\], the variable \[3\]/,
    );
    tf.dispose([t, u]);
  });
});
