import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import {
  affineFakeQuant,
  LowPrecisionLayer,
  type LowPrecisionSpec,
  lowPrecisionConv2d,
  lowPrecisionMatMul,
  lowPrecisionModel,
  parseLowPrecision,
  RangeBatchNorm,
  stochasticRoundTensor,
} from '../../src/lowprec/index.js';
import { copyModel } from '../../src/rewrite/rewrite-model.js';
import { applyStep, defaultForward, trainableVariables } from '../../src/train/gradients.js';
import { resolveLoss } from '../../src/train/loss.js';
import { maxAbsDiff, saveAndLoad, useBackend } from '../helpers.js';
import { stepLosses } from '../step-losses.js';

const INT8: LowPrecisionSpec = { weights: 8, activations: 8, gradients: 8 };

/** Independent reference of the affine per-tensor quantizer (range includes 0, integer zero). */
function refAffine(v: ArrayLike<number>, bits: number): Float32Array {
  let lo = 0;
  let hi = 0;
  for (let i = 0; i < v.length; i++) {
    lo = Math.min(lo, v[i]);
    hi = Math.max(hi, v[i]);
  }
  const levels = 2 ** bits - 1;
  const s = Math.fround((hi - lo) / levels);
  const z = Math.round(-lo / s);
  return Float32Array.from(
    v,
    (x) => (Math.min(levels, Math.max(0, Math.round(x / s) + z)) - z) * s,
  );
}

/** Max over entries of |mean - target| / standard error, from sums over `n` draws. */
function maxZ(sum: Float64Array, sq: Float64Array, target: ArrayLike<number>, n: number): number {
  let z = 0;
  for (let i = 0; i < sum.length; i++) {
    const mean = sum[i] / n;
    const sd = Math.sqrt(Math.max(sq[i] / n - mean * mean, 1e-20));
    z = Math.max(z, Math.abs(mean - target[i]) / (sd / Math.sqrt(n)));
  }
  return z;
}

/** A tiny conv -> batch norm -> relu -> dense model (functional), seeded; or conv(tanh) -> dense. */
function tinyModel(seed: number, smooth = false): tf.LayersModel {
  const input = tf.input({ shape: [6, 6, 1] });
  let x = tf.layers
    .conv2d({
      filters: 4,
      kernelSize: 3,
      padding: 'same',
      activation: smooth ? 'tanh' : 'linear',
      kernelInitializer: tf.initializers.glorotUniform({ seed }),
      name: 'conv',
    })
    .apply(input) as tf.SymbolicTensor;
  if (!smooth) {
    x = tf.layers.batchNormalization({ name: 'bn' }).apply(x) as tf.SymbolicTensor;
    x = tf.layers.reLU({ name: 'relu' }).apply(x) as tf.SymbolicTensor;
  }
  x = tf.layers.flatten({ name: 'flat' }).apply(x) as tf.SymbolicTensor;
  const y = tf.layers
    .dense({
      units: 5,
      kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }),
      name: 'logits',
    })
    .apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: y, name: 'tiny' });
}

/** The per-variable change of one SGD applyStep on `model` (weights restored nowhere: a copy). */
function stepDelta(model: tf.LayersModel, xs: tf.Tensor, ys: tf.Tensor): Float32Array[] {
  const vars = trainableVariables(model);
  const before = vars.map((v) => v.dataSync().slice());
  const opt = tf.train.sgd(0.1);
  const ctx = {
    variables: vars,
    forward: defaultForward(model),
    loss: resolveLoss(model, 'auto', 5),
  };
  applyStep(ctx, opt, { xs, ys }).dispose();
  opt.dispose();
  return vars.map((v, i) => Float32Array.from(v.dataSync(), (a, j) => a - before[i][j]));
}

function relErr(a: Float32Array[], b: Float32Array[]): number {
  let num = 0;
  let den = 0;
  a.forEach((x, i) => {
    for (let j = 0; j < x.length; j++) {
      num += (x[j] - b[i][j]) ** 2;
      den += b[i][j] ** 2;
    }
  });
  return Math.sqrt(num / den);
}

describe('8-bit training quantizers', () => {
  it('affineFakeQuant equals the reference quantizer, keeps 0 exact, errs at most half a step', async () => {
    await useBackend('cpu');
    const x = tf.randomNormal([500], 0.3, 1, 'float32', 5);
    const v = x.dataSync();
    for (const bits of [8, 4]) {
      const q = affineFakeQuant(x, bits);
      const ref = refAffine(v, bits);
      assert.ok(maxAbsDiff(q, ref) < 1e-6, `bits ${bits}: vs reference ${maxAbsDiff(q, ref)}`);
      const step = (Math.max(...v) - Math.min(...v)) / (2 ** bits - 1);
      assert.ok(maxAbsDiff(q, v) <= step / 2 + 1e-6, `bits ${bits}: error above half a step`);
      assert.ok(new Set(q.dataSync()).size <= 2 ** bits);
      q.dispose();
    }
    const withZero = tf.tensor([0, 0.7, -0.2, 0]);
    const q0 = affineFakeQuant(withZero, 8).dataSync();
    assert.equal(q0[0], 0);
    assert.equal(q0[3], 0);
    const zeros = affineFakeQuant(tf.zeros([3]), 8);
    assert.deepEqual([...zeros.dataSync()], [0, 0, 0]);
    tf.dispose([x, withZero, zeros]);
  });

  it('stochasticRoundTensor is unbiased (z-test over 3000 seeds) and on the 8-bit grid', async () => {
    await useBackend('cpu');
    const g = tf.randomNormal([64], 0, 1e-3, 'float32', 9);
    const gv = g.dataSync();
    const maxAbs = Math.max(...Array.from(gv, Math.abs));
    const s = maxAbs / 127;
    const n = 3000;
    const sum = new Float64Array(64);
    const sq = new Float64Array(64);
    for (let d = 0; d < n; d++) {
      const q = stochasticRoundTensor(g, 8, d + 1);
      const qv = q.dataSync();
      q.dispose();
      for (let i = 0; i < 64; i++) {
        sum[i] += qv[i];
        sq[i] += qv[i] ** 2;
        if (d === 0) {
          const code = qv[i] / s;
          assert.ok(Math.abs(code - Math.round(code)) < 1e-3, `off the grid: ${code}`);
          assert.ok(Math.abs(qv[i] - gv[i]) <= s * (1 + 1e-5), 'more than one step away');
        }
      }
    }
    const z = maxZ(sum, sq, gv, n);
    assert.ok(z < 4.5, `max z ${z.toFixed(2)} over 64 entries`);
    // Deterministic rounding would be biased: round-half-up of the same grid has a z far above.
    const det = Float32Array.from(gv, (x) => Math.round(x / s) * s);
    const detSum = Float64Array.from(det, (x) => x * n);
    assert.ok(maxZ(detSum, sq, gv, n) > 4.5, 'the test can detect a biased rounding');
    g.dispose();
  });
});

describe('8-bit products (gradient bifurcation)', () => {
  it('dense: forward on quantized operands, dW with the float dy, dx unbiased', async () => {
    await useBackend('cpu');
    const x = tf.randomNormal([8, 6], 0, 1, 'float32', 1) as tf.Tensor2D;
    const w = tf.randomNormal([6, 3], 0, 0.5, 'float32', 2) as tf.Tensor2D;
    const dy = tf.randomNormal([8, 3], 0, 1, 'float32', 3) as tf.Tensor2D;
    const xq = affineFakeQuant(x, 8) as tf.Tensor2D;
    const wq = affineFakeQuant(w, 8) as tf.Tensor2D;
    let seed = 100;
    const f = (a: tf.Tensor, b: tf.Tensor) =>
      lowPrecisionMatMul(a as tf.Tensor2D, b as tf.Tensor2D, INT8, () => seed++);
    const y = f(x, w);
    assert.ok(maxAbsDiff(y, tf.matMul(xq, wq)) < 1e-5, 'forward');
    const exactDx = tf.matMul(dy, wq, false, true).dataSync();
    const exactDw = tf.matMul(xq, dy, true, false);
    const n = 1500;
    const sum = new Float64Array(exactDx.length);
    const sq = new Float64Array(exactDx.length);
    let dxDiffers = false;
    for (let d = 0; d < n; d++) {
      const [dx, dW] = tf.grads(f)([x, w], dy);
      if (d === 0) assert.ok(maxAbsDiff(dW, exactDw) < 1e-5, 'dW uses the float32 dy');
      const v = dx.dataSync();
      if (maxAbsDiff(v, exactDx) > 1e-6) dxDiffers = true;
      for (let i = 0; i < v.length; i++) {
        sum[i] += v[i];
        sq[i] += v[i] ** 2;
      }
      tf.dispose([dx, dW]);
    }
    assert.ok(dxDiffers, 'dx sees the rounded gradient');
    const z = maxZ(sum, sq, exactDx, n);
    assert.ok(z < 4.5, `dx mean vs dy wq^T: max z ${z.toFixed(2)}`);
    tf.dispose([x, w, dy, xq, wq, y, exactDw]);
  });

  it('conv2d: forward on quantized operands, dW with the float dy, dx unbiased', async () => {
    await useBackend('cpu');
    const x = tf.randomNormal([2, 5, 5, 2], 0, 1, 'float32', 4) as tf.Tensor4D;
    const w = tf.randomNormal([3, 3, 2, 3], 0, 0.5, 'float32', 5) as tf.Tensor4D;
    const dy = tf.randomNormal([2, 3, 3, 3], 0, 1, 'float32', 6) as tf.Tensor4D;
    const xq = affineFakeQuant(x, 8) as tf.Tensor4D;
    const wq = affineFakeQuant(w, 8) as tf.Tensor4D;
    let seed = 7;
    const f = (a: tf.Tensor, b: tf.Tensor) =>
      lowPrecisionConv2d(a as tf.Tensor4D, b as tf.Tensor4D, [2, 2], 'same', INT8, () => seed++);
    const plain = (a: tf.Tensor, b: tf.Tensor) =>
      tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, [2, 2], 'same');
    const y = f(x, w);
    assert.ok(maxAbsDiff(y, plain(xq, wq)) < 1e-5, 'forward');
    const [refDx, refDw] = tf.grads(plain)([xq, wq], dy);
    const exactDx = refDx.dataSync();
    const n = 1000;
    const sum = new Float64Array(exactDx.length);
    const sq = new Float64Array(exactDx.length);
    for (let d = 0; d < n; d++) {
      const [dx, dW] = tf.grads(f)([x, w], dy);
      if (d === 0) assert.ok(maxAbsDiff(dW, refDw) < 1e-4, 'dW uses the float32 dy');
      const v = dx.dataSync();
      for (let i = 0; i < v.length; i++) {
        sum[i] += v[i];
        sq[i] += v[i] ** 2;
      }
      tf.dispose([dx, dW]);
    }
    const z = maxZ(sum, sq, exactDx, n);
    assert.ok(z < 4.5, `dx mean vs the plain conv's dx: max z ${z.toFixed(2)}`);
    tf.dispose([x, w, dy, xq, wq, y, refDx, refDw]);
  });
});

describe('lowPrecisionModel (8-bit training through the step seam)', () => {
  it('an 8-bit applyStep follows the float step within a bound that 4 bits miss', async () => {
    await useBackend('cpu');
    const xs = tf.randomNormal([16, 6, 6, 1], 0, 1, 'float32', 21);
    const ys = tf.oneHot(tf.tensor1d([0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0], 'int32'), 5);
    // A smooth model: with ReLU, units whose sign flips under quantization make the L2 error grow
    // like the square root of the step (not the step), and a conv bias before batch norm has a
    // zero float gradient; both would hide the 2^-bits scaling this test checks.
    const base = tinyModel(3, true);
    const errs: Record<number, number> = {};
    const fl = copyModel(base);
    const ref = stepDelta(fl, xs, ys);
    for (const bits of [8, 4]) {
      const spec = { weights: bits, activations: bits, gradients: bits };
      const r = lowPrecisionModel(base, { quantize: spec, rangeBn: false, seed: 1 });
      assert.deepEqual(
        r.converted.map((c) => c.name),
        ['conv', 'logits'],
      );
      errs[bits] = relErr(stepDelta(r.model, xs, ys), ref);
      r.model.dispose();
    }
    assert.ok(errs[8] > 1e-4, `8-bit step identical to float: ${errs[8]}`);
    assert.ok(errs[8] < 0.03, `8-bit step vs float: relative error ${errs[8].toFixed(4)}`);
    // Quantization error scales with the step 2^-bits: 16x from 8 to 4 bits (8x asked here).
    assert.ok(errs[8] < errs[4] / 8, `8 bits ${errs[8]} vs 4 bits ${errs[4]}`);
    tf.dispose([xs, ys]);
    base.dispose();
    fl.dispose();
  });

  it('Range BN replaces batch norm with its moving statistics: same inference outputs', async () => {
    await useBackend('cpu');
    const base = tinyModel(4);
    // Move the BN statistics away from their initial values first.
    const xs = tf.randomNormal([32, 6, 6, 1], 2, 3, 'float32', 8);
    for (let i = 0; i < 5; i++) tf.dispose(base.apply(xs, { training: true }) as tf.Tensor);
    const r = lowPrecisionModel(base, { quantize: null });
    assert.deepEqual(r.converted, [
      { name: 'bn', from: 'BatchNormalization', to: 'FrugalRangeBatchNorm' },
    ]);
    assert.ok(r.model.getLayer('bn') instanceof RangeBatchNorm);
    const a = base.predict(xs) as tf.Tensor;
    const b = r.model.predict(xs) as tf.Tensor;
    assert.ok(maxAbsDiff(a, b) < 1e-4, `inference outputs differ by ${maxAbsDiff(a, b)}`);
    tf.dispose([xs, a, b]);
    base.dispose();
    r.model.dispose();
  });

  it('trains without leaks (applyStep with Adam, Range BN and 8 bits), saves and loads', async () => {
    await useBackend('cpu');
    const base = tinyModel(5);
    const r = lowPrecisionModel(base, { quantize: INT8, seed: 2 });
    assert.equal(r.converted.length, 3);
    assert.ok(r.model.getLayer('conv') instanceof LowPrecisionLayer);
    const xs = tf.randomNormal([16, 6, 6, 1], 0, 1, 'float32', 22);
    const ys = tf.oneHot(
      tf.tensor1d(
        Array.from({ length: 16 }, (_, i) => i % 5),
        'int32',
      ),
      5,
    );
    const opt = tf.train.adam(0.01);
    const { step, losses } = stepLosses(r.model, opt, { xs, ys }, 5);
    step();
    step();
    const n0 = tf.memory().numTensors;
    for (let i = 0; i < 20; i++) step();
    assert.equal(tf.memory().numTensors, n0, 'tensors stable across steps');
    assert.ok(losses[losses.length - 1] < losses[0] * 0.7, `loss ${losses[0]} -> ${losses.at(-1)}`);
    const a = r.model.predict(xs) as tf.Tensor;
    const loaded = await saveAndLoad(r.model);
    assert.ok(loaded.getLayer('conv') instanceof LowPrecisionLayer);
    const b = loaded.predict(xs) as tf.Tensor;
    assert.ok(maxAbsDiff(a, b) < 1e-6, 'save/load round trip');
    tf.dispose([xs, ys, a, b]);
    opt.dispose();
    [base, r.model, loaded].forEach((m) => {
      m.dispose();
    });
  });

  it('bad input: clear errors naming the field; unconvertible layers are reported', async () => {
    await useBackend('cpu');
    assert.throws(
      () => parseLowPrecision({ weights: 9, activations: 8, gradients: 8 }),
      /lowPrecision.*weights/,
    );
    assert.throws(
      () => parseLowPrecision({ weights: 8, activations: 8, gradients: 8, bias: 8 }),
      /unknown field 'bias'/,
    );
    assert.throws(
      () => parseLowPrecision({ weights: 8, activations: 7.5, gradients: 8 }),
      /activations/,
    );
    const m = tf.sequential({
      layers: [
        tf.layers.depthwiseConv2d({ inputShape: [4, 4, 2], kernelSize: 3, name: 'dw' }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 2, name: 'head' }),
      ],
    });
    const r = lowPrecisionModel(m, { quantize: INT8 });
    assert.deepEqual(
      r.unconverted.map((u) => u.name),
      ['dw'],
    );
    assert.match(r.unconverted[0].reason, /Dense and Conv2D only/);
    r.model.dispose();
    const onlyDw = tf.sequential({
      layers: [tf.layers.depthwiseConv2d({ inputShape: [4, 4, 2], kernelSize: 3, name: 'dw2' })],
    });
    assert.throws(() => lowPrecisionModel(onlyDw, { quantize: INT8 }), /nothing to convert.*dw2/);
    assert.throws(
      () => lowPrecisionModel(m, { quantize: null, rangeBn: false }),
      /nothing to change/,
    );
    m.dispose();
    onlyDw.dispose();
  });
});
