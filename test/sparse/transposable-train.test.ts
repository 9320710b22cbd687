import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { isNMMask } from '../../src/compress/sparsity/nm-mask.js';
import { isTransposableNMMask } from '../../src/compress/sparsity/transposable.js';
import {
  maskDiversity,
  parseTransposableOptions,
  transposableTraining,
} from '../../src/sparse/transposable-train.js';
import { applyStep, defaultForward, trainableVariables } from '../../src/train/gradients.js';
import { train } from '../../src/train/loop.js';
import { lossByName } from '../../src/train/loss.js';
import { saveAndLoad, useBackend } from '../helpers.js';
import { tinyData } from '../tiny-data.js';

/** [in, out] row-major -> [out, in]. */
function transpose(v: ArrayLike<number>, rows: number, cols: number): Float32Array {
  const t = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = v[r * cols + c];
  return t;
}

/** Whether a Dense kernel [in, out] is N:M along in (W) and along out (W^T), from its zeros. */
function denseKernelNM(v: ArrayLike<number>, shape: number[], n: number, m: number): boolean {
  const [inC, outC] = shape;
  const nz = Uint8Array.from(v, (x) => (x !== 0 ? 1 : 0));
  const nzT = transpose(nz, inC, outC);
  return isNMMask(nz, [inC, outC], n, m) && isNMMask(nzT, [outC, inC], n, m);
}

function mlp(seed: number): tf.LayersModel {
  const init = (s: number) => tf.initializers.glorotUniform({ seed: seed + s });
  return tf.sequential({
    layers: [
      tf.layers.flatten({ inputShape: [8, 8, 1] }),
      tf.layers.dense({ units: 16, activation: 'relu', kernelInitializer: init(1), name: 'h' }),
      tf.layers.dense({ units: 8, activation: 'relu', kernelInitializer: init(2), name: 'h2' }),
      tf.layers.dense({ units: 3, kernelInitializer: init(3), name: 'logits' }),
    ],
  });
}

describe('transposable N:M training', () => {
  before(async () => {
    await useBackend('cpu');
  });

  it('mask diversity: 90 transposable 2:4 blocks (brute force agrees), 6^4 plain 2:4', () => {
    let brute = 0;
    for (let bits = 0; bits < 1 << 16; bits++) {
      let ok = true;
      for (let a = 0; a < 4 && ok; a++) {
        let row = 0;
        let col = 0;
        for (let b = 0; b < 4; b++) {
          row += (bits >> (a * 4 + b)) & 1;
          col += (bits >> (b * 4 + a)) & 1;
        }
        ok = row === 2 && col === 2;
      }
      if (ok) brute++;
    }
    assert.equal(brute, 90);
    assert.equal(maskDiversity(2, 4, 'transposable'), 90);
    assert.equal(maskDiversity(2, 4, 'nm'), 1296);
    assert.equal(maskDiversity(1, 2, 'transposable'), 2);
    assert.equal(maskDiversity(1, 4, 'transposable'), 24); // permutation matrices
  });

  it('masks eligible kernels so that W and W^T are both 2:4, skips the others with the reason', () => {
    const model = mlp(0);
    const t = transposableTraining(model);
    assert.deepEqual(
      t.layers.map((l) => l.name),
      ['h', 'h2'],
    );
    assert.equal(t.skipped.length, 1);
    assert.equal(t.skipped[0].name, 'logits');
    assert.match(t.skipped[0].reason, /output \(3\) channels must be multiples of 4/);
    for (const l of t.layers) {
      const w = model.getLayer(l.name).getWeights()[0];
      const v = w.dataSync();
      assert.ok(isTransposableNMMask(t.masks().get(l.name) as Uint8Array, l.shape, 2, 4));
      assert.ok(denseKernelNM(v, l.shape, 2, 4), `${l.name}: W and W^T are 2:4`);
    }
    t.finish();
    model.dispose();
  });

  it('the denseKernelNM check fails on a kernel that is 2:4 along in only', () => {
    // Rows (in) 0..3, columns (out) 0..3: each column keeps inputs 0 and 1, so W is 2:4 along in,
    // but row 0 keeps all four outputs: W^T is not 2:4.
    const v = new Float32Array(16);
    for (let o = 0; o < 4; o++) {
      v[0 * 4 + o] = 1;
      v[1 * 4 + o] = 1;
    }
    assert.equal(denseKernelNM(v, [4, 4], 2, 4), false);
  });

  it('trains from scratch with masks recomputed every 4 steps: loss falls, masks stay transposable, no leaks, saves', async () => {
    const data = tinyData([8, 8, 1], 256, 3, { testCount: 64 });
    const model = mlp(1);
    const t = transposableTraining(model, { recomputeEvery: 4 });
    const before = tf.memory().numTensors;
    const first = await train(
      model,
      data,
      { epochs: 1, batchSize: 32, seed: 0, measureMemory: false },
      { hooks: t.hooks },
    );
    const afterOne = tf.memory().numTensors;
    const r = await train(
      model,
      data,
      { epochs: 3, batchSize: 32, seed: 1, measureMemory: false, learningRate: 3e-3 },
      { hooks: t.hooks },
    );
    assert.equal(tf.memory().numTensors, afterOne, 'tensors stable across epochs');
    assert.ok(afterOne - before <= 1, `at most the optimizer's step counter: ${afterOne - before}`);
    assert.ok(
      r.history[r.history.length - 1].meanLoss < first.history[0].meanLoss,
      `loss ${first.history[0].meanLoss} -> ${r.history[r.history.length - 1].meanLoss}`,
    );
    assert.ok(r.testAccuracy > 0.6, `accuracy ${r.testAccuracy}`);
    const s = t.stats();
    assert.equal(s.steps, 32);
    assert.equal(s.recomputes, 8);
    assert.ok(
      s.maskChangeFraction.some((f) => f > 0),
      'the dense weights move the masks (straight-through)',
    );
    t.finish();
    const loaded = await saveAndLoad(model);
    for (const l of t.layers) {
      const v = loaded.getLayer(l.name).getWeights()[0].dataSync();
      assert.ok(denseKernelNM(v, l.shape, 2, 4), `${l.name} after save/load`);
    }
    assert.throws(() => t.hooks.afterUpdate?.({} as never), /finish\(\) was called/);
    loaded.dispose();
    model.dispose();
  });

  it('fixed masks without straight-through: pruned weights stay 0 while fine-tuning', async () => {
    const data = tinyData([8, 8, 1], 128, 4, { testCount: 32 });
    const model = mlp(2);
    await train(model, data, { epochs: 1, batchSize: 32, seed: 0, measureMemory: false });
    const t = transposableTraining(model, { straightThrough: false, solver: 'exact' });
    const masks = t.masks();
    await train(
      model,
      data,
      { epochs: 1, batchSize: 32, seed: 1, measureMemory: false },
      { hooks: t.hooks },
    );
    for (const l of t.layers) {
      const v = model.getLayer(l.name).getWeights()[0].dataSync();
      const mask = masks.get(l.name) as Uint8Array;
      for (let i = 0; i < v.length; i++)
        if (!mask[i]) assert.ok(v[i] === 0, `${l.name}[${i}] = ${v[i]}`);
      assert.deepEqual(t.masks().get(l.name), mask, 'fixed');
    }
    t.finish();
    model.dispose();
  });

  it('SR-STE decay and the sparsity ramp: one SGD step matches the formula, then the mask is hard', () => {
    // Ramp over 2 steps: the forward starts dense (alpha 1), then pruned weights count 0.5, then 0.
    // With SGD (lr eta) the first step gives W_d' = W_d - eta (g + decay (1 - M) W_d), g the
    // plain gradient at W_d, and the kernel W_d' (M + 0.5 (1 - M)).
    const model = mlp(5);
    const eta = 0.1;
    const decay = 0.3;
    const vars = trainableVariables(model);
    const loss = lossByName('logits');
    const xs = tf.randomNormal([16, 8, 8, 1], 0, 1, 'float32', 7);
    const ys = tf.oneHot(tf.tensor1d([0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0], 'int32'), 3);
    const before = new Map(vars.map((v) => [v.name, v.dataSync().slice()]));
    const t = transposableTraining(model, { rampSteps: 2, decay });
    const kernel = (layer: string) =>
      model.getLayer(layer).trainableWeights[0].read() as tf.Variable;
    for (const l of t.layers)
      assert.deepEqual(
        kernel(l.name).dataSync(),
        before.get(kernel(l.name).name),
        'alpha 1: the kernel is the dense one',
      );
    const g0 = tf.tidy(
      () =>
        tf.variableGrads(
          () => loss.mean(ys, model.apply(xs, { training: true }) as tf.Tensor),
          vars,
        ).grads,
    );
    const grads = new Map(Object.entries(g0).map(([k, g]) => [k, g.dataSync().slice()]));
    tf.dispose(g0);
    const ctx = { variables: vars, forward: defaultForward(model), loss };
    const opt = tf.train.sgd(eta);
    applyStep(ctx, opt, { xs, ys }, t.hooks).dispose();
    const masks = t.masks();
    for (const l of t.layers) {
      const w = kernel(l.name);
      const d0 = before.get(w.name) as Float32Array;
      const g = grads.get(w.name) as Float32Array;
      const mask = masks.get(l.name) as Uint8Array;
      const v = w.dataSync();
      let pruned = 0;
      for (let i = 0; i < v.length; i++) {
        const dense = d0[i] - eta * (g[i] + (mask[i] ? 0 : decay * d0[i]));
        const want = mask[i] ? dense : 0.5 * dense;
        if (!mask[i]) pruned++;
        assert.ok(Math.abs(v[i] - want) < 1e-6, `${l.name}[${i}]: ${v[i]} vs ${want}`);
      }
      assert.equal(pruned, v.length / 2);
    }
    // The plain (unmasked) logits kernel took a plain SGD step.
    const logits = kernel('logits');
    const lg = grads.get(logits.name) as Float32Array;
    const l0 = before.get(logits.name) as Float32Array;
    logits.dataSync().forEach((x, i) => {
      assert.ok(Math.abs(x - (l0[i] - eta * lg[i])) < 1e-6);
    });
    const n0 = tf.memory().numTensors;
    applyStep(ctx, opt, { xs, ys }, t.hooks).dispose();
    applyStep(ctx, opt, { xs, ys }, t.hooks).dispose();
    assert.equal(tf.memory().numTensors, n0, 'no leaks per step');
    for (const l of t.layers) {
      const v = model.getLayer(l.name).getWeights()[0].dataSync();
      assert.ok(denseKernelNM(v, l.shape, 2, 4), `${l.name}: hard 2:4 after the ramp`);
    }
    t.finish();
    tf.dispose([xs, ys]);
    opt.dispose();
    model.dispose();
  });

  it('SR-STE with recomputed masks: fewer mask changes than plain STE at the same steps', async () => {
    const data = tinyData([8, 8, 1], 256, 6, { testCount: 64 });
    const churn = async (decay: number) => {
      const model = mlp(3);
      const t = transposableTraining(model, { recomputeEvery: 2, decay });
      await train(
        model,
        data,
        {
          epochs: 2,
          batchSize: 32,
          seed: 0,
          measureMemory: false,
          optimizer: 'sgd',
          learningRate: 0.5,
        },
        { hooks: t.hooks },
      );
      const s = t.stats();
      t.finish();
      for (const l of t.layers)
        assert.ok(denseKernelNM(model.getLayer(l.name).getWeights()[0].dataSync(), l.shape, 2, 4));
      model.dispose();
      return s.maskChangeFraction.reduce((a, b) => a + b, 0);
    };
    const plain = await churn(0);
    const srste = await churn(2);
    assert.ok(plain > 0, 'plain STE moves the masks');
    assert.ok(srste < plain, `SR-STE changes ${srste} against ${plain}`);
  });

  it('bad options are errors naming the field', () => {
    assert.throws(
      () => parseTransposableOptions({ decay: 2e-4 }),
      /decay: decay \(0.0002\) acts on pruned dense weights/,
    );
    assert.throws(() => parseTransposableOptions({ decay: -1, recomputeEvery: 1 }), /decay/);
    assert.throws(
      () => parseTransposableOptions({ rampSteps: 10, straightThrough: false }),
      /rampSteps: a sparsity ramp needs straightThrough/,
    );
    assert.throws(() => parseTransposableOptions({ rampSteps: 1.5 }), /rampSteps/);
    assert.equal(parseTransposableOptions({ rampSteps: 10, decay: 0.1 }).decay, 0.1);
    assert.throws(() => parseTransposableOptions({ n: 4, m: 4 }), /n: n \(4\) must be below m/);
    assert.throws(
      () => parseTransposableOptions({ recomputeEvery: 10, straightThrough: false }),
      /recomputeEvery: recomputing the masks needs straightThrough/,
    );
    assert.throws(() => parseTransposableOptions({ recomputeEvery: -1 }), /recomputeEvery/);
    assert.throws(() => parseTransposableOptions({ solver: 'flow' }), /solver/);
    assert.throws(() => parseTransposableOptions({ k: 1 }), /k/);
    const tiny = tf.sequential({
      layers: [tf.layers.dense({ units: 3, inputShape: [5], name: 'd' })],
    });
    assert.throws(
      () => transposableTraining(tiny),
      /no kernel of .* can take the mask \(d: kernel/,
    );
    tiny.dispose();
  });
});
