import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { CompressedActivation } from '../../src/activation/layers/compressed-activation.js';
import { CompressedBatchNorm } from '../../src/activation/layers/compressed-batch-norm.js';
import { CompressedConv2D } from '../../src/activation/layers/compressed-conv2d.js';
import {
  identityBlock,
  identityBlockUnfusable,
} from '../../src/activation/layers/identity-block.js';
import { NoSaveAdd } from '../../src/activation/layers/shape-only.js';
import { seedActivationRng, setBackwardChunkBytes } from '../../src/engine/settings.js';
import { BACKENDS, maxAbsDiff, useBackend } from '../helpers.js';
import { tinyResnet } from '../tiny-models.js';
import { compareSteps, streamingStep } from './resnet-streaming.js';

const T = { training: true };
type Bits = 1 | 2 | 4 | 8 | 32;

/** A basic block's layers on [*, 5, 5, 3] inputs (3x3 convs, 3 channels), built. */
function block(bits: Bits) {
  const conv = () =>
    new CompressedConv2D({
      filters: 3,
      kernelSize: 3,
      padding: 'same',
      useBias: false,
      actBits: bits,
    });
  const norm = () => new CompressedBatchNorm({ actBits: bits, momentum: 0.9 });
  const relu = () => new CompressedActivation({ activation: 'relu', actBits: bits });
  const b = {
    conv1: conv(),
    norm1: norm(),
    relu1: relu(),
    conv2: conv(),
    norm2: norm(),
    relu2: relu(),
    add: new NoSaveAdd({}),
  };
  for (const c of [b.conv1, b.conv2]) c.build([null, 5, 5, 3]);
  for (const n of [b.norm1, b.norm2]) n.build([null, 5, 5, 3]);
  return b;
}
type Block = ReturnType<typeof block> & {
  projection?: { conv: CompressedConv2D; norm: CompressedBatchNorm };
};

/** A block with a projection shortcut on [*, 6, 6, 3] inputs: conv1 and the projection stride 2, to 4 channels. */
function projectionBlock(bits: Bits): Block {
  const mk = (kernelSize: number, strides: number) =>
    new CompressedConv2D({
      filters: 4,
      kernelSize,
      strides,
      padding: 'same',
      useBias: false,
      actBits: bits,
    });
  const b: Block = {
    ...block(bits),
    conv1: mk(3, 2),
    conv2: mk(3, 1),
    norm1: new CompressedBatchNorm({ actBits: bits, momentum: 0.9 }),
    norm2: new CompressedBatchNorm({ actBits: bits, momentum: 0.9 }),
    projection: { conv: mk(1, 2), norm: new CompressedBatchNorm({ actBits: bits }) },
  };
  b.conv1.build([null, 6, 6, 3]);
  b.conv2.build([null, 3, 3, 4]);
  b.projection?.conv.build([null, 6, 6, 3]);
  for (const n of [b.norm1, b.norm2, b.projection?.norm]) n?.build([null, 3, 3, 4]);
  return b;
}
const weighted = (b: Block) => [
  b.conv1,
  b.norm1,
  b.conv2,
  b.norm2,
  ...(b.projection ? [b.projection.conv, b.projection.norm] : []),
];

/** Loss, gradients (x, then the trainable weights) and the moving statistics of one step. */
function step(b: Block, fused: boolean, x: tf.Tensor4D, r: tf.Tensor) {
  const xv = tf.variable(x);
  const vars = [
    xv,
    ...weighted(b).flatMap((l) =>
      l.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val),
    ),
  ];
  seedActivationRng(5);
  const { value, grads } = tf.variableGrads(() => {
    let out: tf.Tensor;
    if (fused) out = identityBlock(b, xv as tf.Tensor4D);
    else {
      // The functional model's layer order: the projection conv runs between conv2 and bn2.
      let y: tf.Tensor = xv;
      for (const l of [b.conv1, b.norm1, b.relu1, b.conv2]) y = l.apply(y, T) as tf.Tensor;
      const p = b.projection ? (b.projection.conv.apply(xv, T) as tf.Tensor) : null;
      y = b.norm2.apply(y, T) as tf.Tensor;
      const short = p && b.projection ? (b.projection.norm.apply(p, T) as tf.Tensor) : xv;
      out = b.relu2.apply(b.add.apply([y, short], T), T) as tf.Tensor;
    }
    return tf.sum(tf.mul(out, r)) as tf.Scalar;
  }, vars);
  const stats = [b.norm1, b.norm2, ...(b.projection ? [b.projection.norm] : [])].flatMap((n) =>
    n
      .getWeights()
      .slice(2)
      .map((t) => t.clone()),
  );
  xv.dispose();
  return [value, ...vars.map((v) => grads[v.name]), ...stats];
}

for (const backend of BACKENDS) {
  describe(`identity residual block fused op (${backend})`, () => {
    before(() => useBackend(backend));

    for (const [bits, kind] of [
      [2, 'identity'],
      [4, 'identity'],
      [8, 'identity'],
      [2, 'projection'],
      [4, 'projection'],
    ] as const) {
      it(`${bits}-bit, ${kind} shortcut: the same loss, gradients and moving statistics as the layers one by one, no leak`, () => {
        setBackwardChunkBytes(4 * 6 * 6 * 3 * 8); // a few samples a chunk
        const mk = kind === 'identity' ? block : projectionBlock;
        const shape: [number, number, number, number] =
          kind === 'identity' ? [7, 5, 5, 3] : [7, 6, 6, 3];
        const outShape = kind === 'identity' ? [7, 5, 5, 3] : [7, 3, 3, 4];
        try {
          const a = mk(bits);
          const b = mk(bits);
          weighted(a).forEach((l, i) => {
            weighted(b)[i].setWeights(l.getWeights());
          });
          const x = tf.randomNormal(shape, 0, 1, 'float32', 1) as tf.Tensor4D;
          const r = tf.randomNormal(outShape, 0, 1, 'float32', 2);
          // Same seed, saves in the same order: the same codes, so equal up to float rounding.
          const want = step(a, false, x, r);
          const before = tf.memory().numTensors;
          const got = step(b, true, x, r);
          assert.equal(tf.memory().numTensors, before + got.length);
          want.forEach((t, i) => {
            const scale = Math.max(
              1,
              tf.tidy(() => tf.max(tf.abs(t)).dataSync()[0]),
            );
            const d = maxAbsDiff(t, got[i]);
            assert.ok(d < 2e-5 * scale, `tensor ${i}: ${d}`);
          });
          tf.dispose([...want, ...got, x, r]);
          for (const k of [a, b])
            for (const l of weighted(k)) for (const w of l.weights) w.dispose();
        } finally {
          setBackwardChunkBytes(1 << 20);
        }
      });
    }

    it('without a gradient tape it keeps nothing (no leak), and refuses what it cannot fuse', () => {
      const b = block(2);
      const x = tf.randomNormal([3, 5, 5, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
      const before = tf.memory().numTensors;
      const y = identityBlock(b, x);
      assert.equal(tf.memory().numTensors, before + 1);
      y.dispose();
      assert.equal(identityBlockUnfusable(b, 3), null);
      assert.match(identityBlockUnfusable(b, 4) ?? '', /channels/);
      assert.match(identityBlockUnfusable(block(32)) ?? '', /float32/);
      b.relu1.perSample = true;
      assert.throws(() => identityBlock(b, x), /cannot be fused: per-sample/);
      x.dispose();
    });

    it('a gradient that does not reach the block frees what it kept (tfjs frees the tape)', () => {
      const b = block(2);
      const x = tf.randomNormal([3, 5, 5, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
      const w = tf.variable(tf.ones([1]));
      const before = tf.memory().numTensors;
      const { value, grads } = tf.variableGrads(() => {
        identityBlock(b, x); // on the tape, but not on the loss's path
        return tf.sum(tf.mul(w, 2)) as tf.Scalar;
      }, [w]);
      tf.dispose([value, grads[w.name]]);
      assert.equal(tf.memory().numTensors, before);
      tf.dispose([x, w]);
    });

    it('the zoo ResNet at 2 bits: the fused streaming forward gives the unfused loss and moving statistics, gradients of the same direction, no leak', async () => {
      const base = tinyResnet([4, 8], 2);
      const stats = ['s1b1_bn1', 's1b1_bn2', 's2b1_bn1', 's2b1_proj_bn'];
      const plain = await streamingStep(base, false, stats);
      const fused = await streamingStep(base, true, stats);
      const { cosine } = compareSteps(plain, fused);
      assert.ok(cosine > 0.95, `cosine ${cosine}`);
      base.dispose();
    });
  });
}
