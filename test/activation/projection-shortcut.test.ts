import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { CompressedActivation } from '../../src/activation/layers/compressed-activation.js';
import { CompressedBatchNorm } from '../../src/activation/layers/compressed-batch-norm.js';
import { CompressedConv2D } from '../../src/activation/layers/compressed-conv2d.js';
import {
  type ProjectionShortcut,
  projectionShortcutAdd,
  projectionShortcutUnfusable,
} from '../../src/activation/layers/projection-shortcut.js';
import { NoSaveAdd } from '../../src/activation/layers/shape-only.js';
import { seedActivationRng, setBackwardChunkBytes } from '../../src/engine/settings.js';
import { BACKENDS, maxAbsDiff, useBackend } from '../helpers.js';
import { tinyResnet } from '../tiny-models.js';
import { compareSteps, streamingStep } from './resnet-streaming.js';

const T = { training: true };
type Bits = 1 | 2 | 4 | 8 | 32;

/** The shortcut's layers (conv 1x1 stride 2 of 3 channels to 4, batch norm, add, ReLU), built. */
function layers(bits: Bits, useBias: boolean) {
  const conv = new CompressedConv2D({
    filters: 4,
    kernelSize: 1,
    strides: 2,
    padding: 'same',
    useBias,
    actBits: bits,
  });
  const norm = new CompressedBatchNorm({ actBits: bits, momentum: 0.9 });
  const add = new NoSaveAdd({});
  const relu = new CompressedActivation({ activation: 'relu', actBits: bits });
  conv.build([null, 6, 6, 3]);
  norm.build([null, 3, 3, 4]);
  return { conv, norm, add, relu };
}
type Layers = ReturnType<typeof layers>;

function copyWeights(from: Layers, to: Layers) {
  to.conv.setWeights(from.conv.getWeights());
  to.norm.setWeights(from.norm.getWeights());
}

/** Loss, gradients (x, main, then the trainable weights) and moving statistics of one step. */
function step(l: Layers, fused: boolean, x: tf.Tensor4D, main: tf.Tensor4D, r: tf.Tensor) {
  const xv = tf.variable(x);
  const mv = tf.variable(main);
  const vars = [xv, mv, ...l.conv.trainableWeights, ...l.norm.trainableWeights].map((w) =>
    w instanceof tf.Variable ? w : (w as unknown as { val: tf.Variable }).val,
  );
  seedActivationRng(7);
  const { value, grads } = tf.variableGrads(() => {
    const out = fused
      ? projectionShortcutAdd(l as ProjectionShortcut, xv as tf.Tensor4D, mv as tf.Tensor4D)
      : (l.relu.apply(
          l.add.apply([mv, l.norm.apply(l.conv.apply(xv, T), T) as tf.Tensor], T),
          T,
        ) as tf.Tensor);
    return tf.sum(tf.mul(out, r)) as tf.Scalar;
  }, vars);
  const out = [
    value,
    ...vars.map((v) => grads[v.name]),
    ...l.norm
      .getWeights()
      .slice(2)
      .map((t) => t.clone()),
  ];
  tf.dispose([xv, mv]);
  return out;
}

for (const backend of BACKENDS) {
  describe(`projection shortcut fused op (${backend})`, () => {
    before(() => useBackend(backend));

    for (const [bits, useBias] of [
      [2, false],
      [4, true],
      [8, false],
    ] as const) {
      it(`${bits}-bit${useBias ? ', with a conv bias' : ''}: the same loss, gradients and moving statistics as the four layers, no leak`, () => {
        setBackwardChunkBytes(4 * 6 * 6 * 3 * 2); // chunks of 2 of the 5 samples
        try {
          const a = layers(bits, useBias);
          const b = layers(bits, useBias);
          copyWeights(a, b);
          const x = tf.randomNormal([5, 6, 6, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
          const main = tf.randomNormal([5, 3, 3, 4], 0, 1, 'float32', 2) as tf.Tensor4D;
          const r = tf.randomNormal([5, 3, 3, 4], 0, 1, 'float32', 3);
          // Same seed, same order of saves: the same codes, so equal up to float rounding.
          const want = step(a, false, x, main, r);
          const before = tf.memory().numTensors;
          const got = step(b, true, x, main, r);
          assert.equal(tf.memory().numTensors, before + got.length);
          want.forEach((t, i) => {
            const scale = Math.max(
              1,
              tf.tidy(() => tf.max(tf.abs(t)).dataSync()[0]),
            );
            assert.ok(
              maxAbsDiff(t, got[i]) < 2e-5 * scale,
              `tensor ${i}: ${maxAbsDiff(t, got[i])}`,
            );
          });
          tf.dispose([...want, ...got, x, main, r]);
          for (const l of [a, b])
            for (const w of [...l.conv.weights, ...l.norm.weights]) w.dispose();
        } finally {
          setBackwardChunkBytes(1 << 20);
        }
      });
    }

    it('is not fused with float32 saves, an activation on the conv, or per-sample bits', () => {
      const l = layers(2, false);
      assert.equal(projectionShortcutUnfusable(l), null);
      assert.match(projectionShortcutUnfusable(layers(32, false)) ?? '', /float32/);
      l.relu.perSample = true;
      assert.match(projectionShortcutUnfusable(l) ?? '', /per-sample/);
      const x = tf.zeros([1, 6, 6, 3]) as tf.Tensor4D;
      assert.throws(
        () => projectionShortcutAdd(l, x, tf.zeros([1, 3, 3, 4]) as tf.Tensor4D),
        /cannot be fused: per-sample/,
      );
      x.dispose();
    });

    // The zoo ResNet's projection shortcuts normally fuse into their identity blocks
    // (identity-block.test.ts checks that). A block whose main-branch ReLU saves per-sample bits
    // is not an identity-block fusion, but its shortcut still is a projection-shortcut fusion.
    it('the zoo ResNet at 8 bits, no block fusable as a whole: its projection shortcut fuses, with the unfused loss and moving statistics, gradients within 5%, no leak', async () => {
      const base = tinyResnet([4, 8], 2);
      const stats = ['s2b1_bn1', 's2b1_bn2', 's2b1_proj_bn'];
      let projCalls = 0;
      const prepare = (m: tf.LayersModel) => {
        // Neither block fuses as a whole (s1b1 would: its different save order changes codes).
        for (const n of ['s1b1_relu1', 's2b1_relu1'])
          (m.getLayer(n) as CompressedActivation).perSample = true;
        const proj = m.getLayer('s2b1_proj');
        const apply = proj.apply.bind(proj);
        proj.apply = (...args: Parameters<typeof apply>) => {
          projCalls++;
          return apply(...args);
        };
      };
      const plain = await streamingStep(base, false, stats, prepare, 8);
      assert.equal(projCalls, 2, 'unfused, the shortcut conv runs once in each of the two steps');
      projCalls = 0;
      const fused = await streamingStep(base, true, stats, prepare, 8);
      assert.equal(projCalls, 0, 'fused, the shortcut conv never runs as a layer');
      // The fused op draws the shortcut's stochastic rounding later than the layers one by one
      // (unfused, s2b1_proj runs before s2b1_bn2; fused, at the ReLU): other codes, so at 8 bits
      // each variable's gradient is within about 1% (a wrong or missing term: off by its size).
      const { worst } = compareSteps(plain, fused);
      assert.ok(worst < 0.05, `largest relative gradient error ${worst}`);
      base.dispose();
    });
  });
}
