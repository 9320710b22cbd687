import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import type { ActivationBits } from '../../src/activation/codec/bits.js';
import { CompressedActivation } from '../../src/activation/layers/compressed-activation.js';
import { CompressedMultiHeadSelfAttention } from '../../src/activation/layers/compressed-attention.js';
import { CompressedBatchNorm } from '../../src/activation/layers/compressed-batch-norm.js';
import { CompressedConv2D } from '../../src/activation/layers/compressed-conv2d.js';
import { CompressedDense } from '../../src/activation/layers/compressed-dense.js';
import { CompressedDepthwiseConv2D } from '../../src/activation/layers/compressed-depthwise-conv2d.js';
import { CompressedLayerNorm } from '../../src/activation/layers/compressed-layer-norm.js';
import { CompressedMaxPool2D } from '../../src/activation/layers/compressed-max-pool.js';
import { seedActivationRng } from '../../src/engine/settings.js';
import { MultiHeadSelfAttention } from '../../src/models/layers/attention.js';
import { maxAbsDiff, useBackend } from '../helpers.js';

type Pair = { compressed: tf.layers.Layer; reference: tf.layers.Layer; shape: number[] };

/** Gradients of sum(y * r) w.r.t. the input and every trainable weight. */
function grads(layer: tf.layers.Layer, x: tf.Tensor, training: boolean): tf.Tensor[] {
  const vars = layer.trainableWeights.map((w) => w.read() as tf.Variable);
  return tf.tidy(() => {
    const f = (xx: tf.Tensor) => {
      const y = layer.apply(xx, { training }) as tf.Tensor;
      const r = tf.randomNormal(y.shape, 0, 1, 'float32', 99);
      return tf.sum(tf.mul(y, r)) as tf.Scalar;
    };
    const dx = tf.grad(f)(x);
    if (vars.length === 0) return [dx];
    const { grads: g } = tf.variableGrads(() => f(x), vars);
    return [dx, ...vars.map((v) => g[v.name])];
  });
}

/** ||a - b|| / ||b||, or the absolute error when b is (mathematically) zero, e.g. a key bias. */
function relErr(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(
    () => tf.norm(tf.sub(a, b)).dataSync()[0] / Math.max(tf.norm(b).dataSync()[0], 1e-2),
  );
}

function pairs(): Record<string, Pair> {
  const mk = <T extends tf.layers.Layer>(c: T, r: tf.layers.Layer, shape: number[]) => {
    c.apply(tf.zeros(shape));
    r.apply(tf.zeros(shape));
    r.setWeights(c.getWeights().map((w) => tf.randomNormal(w.shape, 0.5, 0.3, 'float32', 5)));
    c.setWeights(r.getWeights());
    return { compressed: c, reference: r, shape };
  };
  return {
    dense: mk(
      new CompressedDense({ units: 5, activation: 'relu' }),
      tf.layers.dense({ units: 5, activation: 'relu' }),
      [6, 7],
    ),
    'dense gelu rank-3': mk(
      new CompressedDense({ units: 4, activation: 'gelu' }),
      tf.layers.dense({ units: 4, activation: 'gelu' }),
      [2, 3, 5],
    ),
    conv: mk(
      new CompressedConv2D({
        filters: 3,
        kernelSize: 3,
        padding: 'same',
        strides: 2,
        activation: 'relu',
      }),
      tf.layers.conv2d({
        filters: 3,
        kernelSize: 3,
        padding: 'same',
        strides: 2,
        activation: 'relu',
      }),
      [2, 7, 7, 2],
    ),
    depthwise: mk(
      new CompressedDepthwiseConv2D({
        kernelSize: 3,
        strides: 2,
        padding: 'same',
        activation: 'relu',
      }),
      tf.layers.depthwiseConv2d({ kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }),
      [2, 7, 7, 3],
    ),
    batchnorm: mk(new CompressedBatchNorm({}), tf.layers.batchNormalization({}), [4, 3, 3, 5]),
    layernorm: mk(new CompressedLayerNorm({}), tf.layers.layerNormalization({}), [3, 4, 6]),
    swish: mk(
      new CompressedActivation({ activation: 'swish' }),
      tf.layers.activation({ activation: 'swish' }),
      [3, 10],
    ),
    attention: mk(
      new CompressedMultiHeadSelfAttention({ numHeads: 2 }),
      new MultiHeadSelfAttention({ numHeads: 2 }),
      [2, 3, 4],
    ),
    'causal attention': mk(
      new CompressedMultiHeadSelfAttention({ numHeads: 1, causal: true }),
      new MultiHeadSelfAttention({ numHeads: 1, causal: true }),
      [2, 4, 4],
    ),
    maxpool: mk(
      new CompressedMaxPool2D({ poolSize: 2 }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      [2, 5, 4, 3],
    ),
  };
}

function setBits(l: tf.layers.Layer, bits: ActivationBits) {
  (l as CompressedDense).actBits = bits;
}

describe('compressed layers against the tfjs layers', () => {
  before(() => useBackend('cpu'));

  it('forward is exact in training and inference', () => {
    for (const [name, p] of Object.entries(pairs())) {
      const x = tf.randomNormal(p.shape, 0, 1, 'float32', 1);
      for (const training of [false, true]) {
        const a = p.compressed.apply(x, { training }) as tf.Tensor;
        const b = p.reference.apply(x, { training }) as tf.Tensor;
        assert.ok(maxAbsDiff(a, b) < 1e-5, `${name} training=${training}: ${maxAbsDiff(a, b)}`);
      }
      // Same state afterwards (batch norm's moving mean and variance).
      const wa = p.compressed.getWeights();
      p.reference.getWeights().forEach((w, i) => {
        assert.ok(maxAbsDiff(w, wa[i]) < 1e-6, `${name} weight ${i}`);
      });
    }
  });

  it('exact saves (32 bits) give the exact gradients; 8 bits are close', () => {
    for (const [name, p] of Object.entries(pairs())) {
      const x = tf.randomNormal(p.shape, 0, 1, 'float32', 2);
      const ref = grads(p.reference, x, true);
      for (const [bits, tol] of [
        [32, 1e-3],
        [8, 0.1],
      ] as const) {
        setBits(p.compressed, bits);
        const got = grads(p.compressed, x, true);
        assert.equal(got.length, ref.length, name);
        got.forEach((g, i) => {
          assert.deepEqual(g.shape, ref[i].shape);
          assert.ok(
            relErr(g, ref[i]) < tol,
            `${name} ${bits} bits grad ${i}: ${relErr(g, ref[i])}`,
          );
        });
      }
    }
  });

  it('2-bit gradients are unbiased: their mean over seeds converges to the exact one', () => {
    const p = pairs().dense;
    const x = tf.randomNormal(p.shape, 0, 1, 'float32', 3);
    const ref = grads(p.reference, x, true)[1];
    setBits(p.compressed, 2);
    const n = 200;
    let sum = tf.zerosLike(ref);
    let single = 0;
    for (let s = 0; s < n; s++) {
      seedActivationRng(1000 + s);
      const g = grads(p.compressed, x, true)[1];
      if (s === 0) single = relErr(g, ref);
      const next = tf.add(sum, g);
      sum.dispose();
      sum = next;
    }
    const mean = tf.div(sum, n);
    const err = relErr(mean, ref);
    assert.ok(single > 0.02, `one 2-bit gradient should be noisy (${single})`);
    assert.ok(err < single / 5, `mean error ${err} vs single ${single}`);
  });

  it('gradient variance falls as bits rise', () => {
    const p = pairs().conv;
    const x = tf.randomNormal(p.shape, 0, 1, 'float32', 4);
    setBits(p.compressed, 32);
    const ref = grads(p.compressed, x, true)[1];
    const errs = ([1, 2, 4, 8] as const).map((b) => {
      setBits(p.compressed, b);
      let e = 0;
      for (let s = 0; s < 4; s++) {
        seedActivationRng(s);
        e += relErr(grads(p.compressed, x, true)[1], ref) ** 2;
      }
      return e;
    });
    for (let i = 1; i < errs.length; i++) assert.ok(errs[i] < errs[i - 1], `${errs}`);
  });

  it('leaves no tensors behind across training steps', () => {
    for (const [name, p] of Object.entries(pairs())) {
      setBits(p.compressed, 2);
      const x = tf.randomNormal(p.shape, 0, 1, 'float32', 5);
      tf.dispose(grads(p.compressed, x, true));
      const before = tf.memory().numTensors;
      tf.dispose(grads(p.compressed, x, true));
      tf.dispose(grads(p.compressed, x, true));
      assert.equal(tf.memory().numTensors, before, name);
    }
  });

  it('few-bit GELU backward is close to exact and improves with bits', () => {
    const x = tf.randomNormal([4, 64], 0, 1, 'float32', 7);
    const exact = new CompressedActivation({ activation: 'gelu', actBits: 32 });
    const ref = grads(exact, x, true)[0];
    const errs = ([1, 2, 4] as const).map((fewbit) => {
      const l = new CompressedActivation({ activation: 'gelu', actBits: 2, fewbit });
      const e = relErr(grads(l, x, true)[0], ref);
      assert.equal(
        l.lastSavedBytes,
        4 * Math.ceil((256 * fewbit) / 32),
        `fewbit ${fewbit} saves codes only`,
      );
      return e;
    });
    assert.ok(errs[2] < 0.1 && errs[1] < errs[0] && errs[2] < errs[1], `${errs}`);
  });

  it('frees its own upstream gradient but never a dy passed in by the caller', () => {
    const p = pairs().dense;
    const x = tf.randomNormal(p.shape, 0, 1, 'float32', 6);
    const dy = tf.ones([6, 5]);
    const [dx] = tf.grads(
      (xx: tf.Tensor) => p.compressed.apply(xx, { training: true }) as tf.Tensor,
    )([x], dy);
    assert.equal(dy.isDisposed, false);
    const [ref] = tf.grads(
      (xx: tf.Tensor) => p.reference.apply(xx, { training: true }) as tf.Tensor,
    )([x], dy);
    assert.ok(maxAbsDiff(dx, ref) < 1e-4);
  });

  it('rejects bad settings with the field named', () => {
    assert.throws(() => new CompressedDense({ units: 2, actBits: 3 as ActivationBits }), /actBits/);
    assert.throws(() => new CompressedDense({ units: 2, activation: 'softmax' }), /activation/);
    assert.throws(() => new CompressedDense({ units: 2, rmmRatio: 2 }), /rmmRatio/);
    assert.throws(() => new CompressedConv2D({ filters: 0, kernelSize: 3 }), /filters/);
    assert.throws(
      () => new CompressedConv2D({ filters: 2, kernelSize: 3, strides: 0 }),
      /kernelSize and strides must be positive integers/,
    );
    assert.throws(
      () => new CompressedDepthwiseConv2D({ kernelSize: 3, padding: 'causal' as 'same' }),
      /padding must be 'valid' or 'same', got causal/,
    );
    // The max pool checked neither before (a 1.5 pool or 'causal' padding reached tf.maxPool).
    assert.throws(
      () => new CompressedMaxPool2D({ poolSize: 1.5 }),
      /poolSize and strides must be positive integers/,
    );
    assert.throws(
      () => new CompressedMaxPool2D({ padding: 'causal' as 'same' }),
      /padding must be 'valid' or 'same'/,
    );
  });
});
