import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { compressActivations } from '../../src/activation/convert.js';
import { streamingForward } from '../../src/activation/execution/streaming-forward.js';
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
import { buildModel } from '../../src/models/zoo.js';
import { classificationLoss, trainableVariables } from '../../src/train/step.js';
import { BACKENDS, maxAbsDiff, useBackend } from '../helpers.js';

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

    it('the zoo ResNet at 2 bits: the fused streaming forward gives the unfused loss and moving statistics, gradients of the same direction, no leak', async () => {
      const base = buildModel('resnet', {
        inputShape: [8, 8, 1],
        numClasses: 3,
        widths: [4, 8],
        seed: 2,
      });
      const run = async (fuse: boolean) => {
        const r = await compressActivations(base, { level: 'L3' }, { warn: () => {} });
        const xs = tf.randomNormal([6, 8, 8, 1], 0, 1, 'float32', 3);
        const ys = tf.oneHot(tf.tensor1d([0, 1, 2, 1, 0, 2], 'int32'), 3);
        const vars = trainableVariables(r.model);
        const f = streamingForward(r.model, { fuse });
        const once = () => {
          seedActivationRng(11);
          const { value, grads } = tf.variableGrads(
            () => classificationLoss(ys, f(xs, true)),
            vars,
          );
          return [value, ...vars.map((v) => grads[v.name])];
        };
        tf.dispose(once()); // the first step builds what the layers keep
        const before = tf.memory().numTensors;
        const out = once();
        assert.equal(tf.memory().numTensors, before + out.length);
        const stats = r.model
          .getLayer('s2b1_proj_bn')
          .getWeights()
          .slice(2)
          .map((t) => t.clone());
        tf.dispose([xs, ys]);
        return { out, stats, model: r.model };
      };
      const plain = await run(false);
      const fused = await run(true);
      assert.ok(Math.abs(plain.out[0].dataSync()[0] - fused.out[0].dataSync()[0]) < 1e-5);
      plain.stats.forEach((s, i) => {
        assert.ok(maxAbsDiff(s, fused.stats[i]) < 1e-5, `moving statistic ${i}`);
      });
      // The saves draw other noise (the fused op's saves come after bn2's in the stream):
      // gradients agree in direction, not to rounding.
      const flat = (ts: tf.Tensor[]) => tf.concat(ts.map((t) => t.reshape([-1])));
      const [p, q] = [flat(plain.out.slice(1)), flat(fused.out.slice(1))];
      const cos = tf.tidy(
        () =>
          tf
            .sum(tf.mul(p, q))
            .div(tf.norm(p).mul(tf.norm(q)))
            .dataSync()[0],
      );
      assert.ok(cos > 0.95, `cosine ${cos}`);
      tf.dispose([...plain.out, ...fused.out, ...plain.stats, ...fused.stats, p, q]);
      plain.model.dispose();
      fused.model.dispose();
      base.dispose();
    });
  });
}
