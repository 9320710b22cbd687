import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import {
  LowBitAccDense,
  lowBitAccMatMul,
  lowBitAccumulatorModel,
  lowBitMatMul,
} from '../../src/lowprec/index.js';
import { applyStep, defaultForward, trainableVariables } from '../../src/train/gradients.js';
import { resolveLoss } from '../../src/train/loss.js';
import { maxAbsDiff, saveAndLoad, useBackend } from '../helpers.js';

const FP32 = { mantissa: 23, exponent: 8 };
const M6E5 = { mantissa: 6, exponent: 5 };

describe('low-bit accumulator layer', () => {
  it('forward is the simulator, float32-close at M23/E8; gradient is the exact product (STE)', async () => {
    await useBackend('cpu');
    const x = tf.randomUniform([5, 40], 0, 1, 'float32', 1) as tf.Tensor2D;
    const w = tf.randomNormal([40, 3], 0, 0.2, 'float32', 2) as tf.Tensor2D;
    const dy = tf.randomNormal([5, 3], 0, 1, 'float32', 3) as tf.Tensor2D;
    const y32 = lowBitAccMatMul(x, w, FP32);
    assert.ok(maxAbsDiff(y32, tf.matMul(x, w)) < 1e-5);
    const y6 = lowBitAccMatMul(x, w, M6E5, 8);
    const ref = lowBitMatMul(x.dataSync(), w.dataSync(), 5, 40, 3, M6E5, 8);
    assert.deepEqual([...y6.dataSync()], [...ref]);
    assert.ok(maxAbsDiff(y6, tf.matMul(x, w)) > 1e-3, 'M6 rounding changes the result');
    const [dx, dW] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      lowBitAccMatMul(a as tf.Tensor2D, b as tf.Tensor2D, M6E5),
    )([x, w], dy);
    const [ex, eW] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D),
    )([x, w], dy);
    assert.ok(maxAbsDiff(dx, ex) < 1e-6 && maxAbsDiff(dW, eW) < 1e-6);
    tf.dispose([x, w, dy, y32, y6, dx, dW, ex, eW]);
  });

  it('converts Dense layers, reports convs, fine-tunes through applyStep without leaks, saves', async () => {
    await useBackend('cpu');
    const m = tf.sequential({
      layers: [
        // Seeded: with unseeded weights a draw whose ReLUs are all off makes d2's sums its bias
        // alone, and the 'outer changes the sums' check below failed once.
        tf.layers.conv2d({
          inputShape: [4, 4, 1],
          filters: 2,
          kernelSize: 3,
          name: 'c',
          kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
        }),
        tf.layers.flatten(),
        tf.layers.dense({
          units: 6,
          activation: 'relu',
          name: 'd1',
          kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }),
        }),
        tf.layers.dense({
          units: 3,
          name: 'd2',
          kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }),
        }),
      ],
    });
    const r = lowBitAccumulatorModel(m, M6E5, 4);
    assert.deepEqual(r.converted, ['d1', 'd2']);
    assert.deepEqual(
      r.unconverted.map((u) => u.name),
      ['c'],
    );
    assert.ok(r.model.getLayer('d1') instanceof LowBitAccDense);
    const xs = tf.randomUniform([8, 4, 4, 1], 0, 1, 'float32', 4);
    const ys = tf.oneHot(tf.tensor1d([0, 1, 2, 0, 1, 2, 0, 1], 'int32'), 3);
    const opt = tf.train.adam(0.01);
    const ctx = {
      variables: trainableVariables(r.model),
      forward: defaultForward(r.model),
      loss: resolveLoss(r.model, 'auto', 3),
    };
    applyStep(ctx, opt, { xs, ys }).dispose();
    const n0 = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) applyStep(ctx, opt, { xs, ys }).dispose();
    assert.equal(tf.memory().numTensors, n0, 'no leaks');
    const a = r.model.predict(xs) as tf.Tensor;
    const loaded = await saveAndLoad(r.model);
    const b = loaded.predict(xs) as tf.Tensor;
    assert.ok(maxAbsDiff(a, b) === 0, 'save/load');
    assert.throws(() => lowBitAccumulatorModel(m, { mantissa: 0, exponent: 5 }), /mantissa/);
    assert.throws(() => new LowBitAccDense({ units: 2, format: M6E5, chunk: -1 }), /chunk/);
    // chunk sums in float32 (outer): kept through save/load, and a different result
    const M2E5 = { mantissa: 2, exponent: 5 };
    const big = tf.mul(xs, 300);
    const low = lowBitAccumulatorModel(m, M2E5, 4).model;
    const mixed = lowBitAccumulatorModel(m, M2E5, 4, FP32);
    assert.deepEqual((mixed.model.getLayer('d1') as LowBitAccDense).outer, FP32);
    const mixedLoaded = await saveAndLoad(mixed.model);
    const ym = mixed.model.predict(big) as tf.Tensor;
    assert.equal(maxAbsDiff(mixedLoaded.predict(big) as tf.Tensor, ym), 0, 'outer save/load');
    assert.ok(maxAbsDiff(low.predict(big) as tf.Tensor, ym) > 0, 'outer changes the sums');
    assert.throws(
      () => new LowBitAccDense({ units: 2, format: M6E5, outer: FP32 }),
      /outer needs chunk > 0/,
    );
    for (const x of [low, mixed.model, mixedLoaded]) x.dispose();
    tf.dispose([xs, ys, a, b, big, ym]);
    opt.dispose();
    [m, r.model, loaded].forEach((x) => {
      x.dispose();
    });
  });
});
