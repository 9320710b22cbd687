import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { setIntegerKernels } from '../../../src/compress/packed/int-kernel.js';
import { encodeKernel } from '../../../src/compress/packed/kernel-codec.js';
import { PackedConv2D } from '../../../src/compress/packed/packed-conv2d.js';
import { PackedDense } from '../../../src/compress/packed/packed-dense.js';
import { makeRng, normal } from '../../../src/engine/random.js';
import { loadModel, saveModel } from '../../../src/io/model-files.js';
import { wasmKernels } from '../../../src/wasm/module.js';
import { quantizeRef } from '../../../src/wasm/reference.js';
import { BACKENDS, maxAbsDiff, useBackend } from '../../helpers.js';
import { tempDir } from '../../temp-dir.js';
import { channelCodec as codec } from './codec.js';

const dir = tempDir('frugal-packed-int-');

function weights(count: number, seed: number): Float32Array {
  const rng = makeRng(seed);
  return Float32Array.from({ length: count }, () => normal(rng) * 0.1);
}

/** conv (int4 affine, ReLU, same) -> flatten -> dense (int8 symmetric) -> dense (int8, softmax). */
function model(): { model: tf.LayersModel; conv: PackedConv2D; dense: PackedDense } {
  const input = tf.input({ shape: [6, 6, 3] });
  const convShape = [3, 3, 3, 8];
  const conv = new PackedConv2D({
    kernelShape: convShape,
    codec: codec(4, 'affine'),
    activation: 'relu',
    padding: 'same',
    strides: [2, 2],
    name: 'pconv',
  });
  const dense = new PackedDense({ kernelShape: [72, 12], codec: codec(8), name: 'pdense' });
  const head = new PackedDense({
    kernelShape: [12, 4],
    codec: codec(8),
    activation: 'softmax',
    name: 'phead',
  });
  const flat = tf.layers.flatten().apply(conv.apply(input)) as tf.SymbolicTensor;
  const out = head.apply(dense.apply(flat)) as tf.SymbolicTensor;
  const m = tf.model({ inputs: input, outputs: out });
  conv.setPacked(encodeKernel(weights(216, 1), convShape, conv.codec), weights(8, 2));
  dense.setPacked(encodeKernel(weights(72 * 12, 3), [72, 12], dense.codec), weights(12, 4));
  head.setPacked(encodeKernel(weights(48, 5), [12, 4], head.codec), weights(4, 6));
  return { model: m, conv, dense };
}

function decoded<T>(f: () => T): T {
  setIntegerKernels({ enabled: false });
  try {
    return f();
  } finally {
    setIntegerKernels({ enabled: true });
  }
}

for (const backend of BACKENDS) {
  describe(`packed layers on integer kernels (${backend})`, () => {
    it('predict on the kernels, hold codes once, save/load/predict, no leaks', async () => {
      await useBackend(backend);
      const heap = wasmKernels().heap;
      const blocks0 = heap.liveBlocks;
      const { model: m, conv, dense } = model();
      const x = tf.randomNormal([3, 6, 6, 3], 0, 1, 'float32', 7);
      const bytes0 = tf.memory().numBytes;
      const ref = decoded(() => m.predict(x) as tf.Tensor);
      assert.equal(dense.integerKernelBytes, 0);
      const y = m.predict(x) as tf.Tensor;
      assert.equal(conv.integerGap(), null);
      assert.ok(dense.integerKernelBytes >= 72 * 16, `${dense.integerKernelBytes} bytes`);
      assert.ok(conv.integerKernelBytes >= (28 * 8) / 2);
      // The codes tensors are released (and the decoded float caches dropped): the codes live
      // in wasm memory only. Codes words: conv 216 int4 (8 a word), dense/head 864/48 int8 (4).
      const codesBytes = (216 / 8 + 864 / 4 + 48 / 4) * 4;
      assert.equal(tf.memory().numBytes - ref.size * 8, bytes0 - codesBytes);
      const diff = maxAbsDiff(y, ref);
      assert.ok(diff > 0 && diff < 0.02, `integer vs decoded softmax outputs differ by ${diff}`);
      const n0 = tf.memory().numTensors;
      for (let i = 0; i < 3; i++) tf.dispose(m.predict(x) as tf.Tensor);
      assert.equal(tf.memory().numTensors, n0, 'predict leaves no tensors');

      // Saving reads the released codes back from wasm memory: the files equal the decoded ones.
      const target = join(dir, `m-${backend}`);
      await saveModel(m, target);
      const loaded = await loadModel(target);
      assert.equal(maxAbsDiff(loaded.predict(x) as tf.Tensor, y), 0, 'same integer outputs');
      assert.equal(
        maxAbsDiff(
          decoded(() => loaded.predict(x) as tf.Tensor),
          ref,
        ),
        0,
      );
      tf.dispose(m.predict(x) as tf.Tensor);
      assert.equal(maxAbsDiff(m.predict(x) as tf.Tensor, y), 0, 'still the same after a save');

      // A gradient through a packed layer takes the decoded path (the integer path has none).
      const g = tf.grad((t: tf.Tensor) => tf.sum(m.apply(t) as tf.Tensor))(x);
      const gRef = decoded(() => tf.grad((t: tf.Tensor) => tf.sum(m.apply(t) as tf.Tensor))(x));
      assert.equal(maxAbsDiff(g, gRef), 0);
      m.dispose();
      loaded.dispose();
      assert.equal(heap.liveBlocks, blocks0, 'disposing the models frees their wasm memory');
    });
  });
}

describe('packed dense on integer kernels', () => {
  it('equals the float layer on the int8-quantized activations up to float rounding', async () => {
    await useBackend('cpu');
    const shape = [20, 9];
    const layer = new PackedDense({ kernelShape: shape, codec: codec(8), activation: 'relu' });
    const input = tf.input({ shape: [20] });
    const m = tf.model({ inputs: input, outputs: layer.apply(input) as tf.SymbolicTensor });
    layer.setPacked(encodeKernel(weights(180, 8), shape, layer.codec), weights(9, 9));
    const x = weights(2 * 20, 10);
    const { q, scales } = quantizeRef(x, 2, 20, { mode: 'row' });
    const xq = Float32Array.from(q, (v, i) => v * scales[Math.floor(i / 20)]);
    const want = decoded(() => m.predict(tf.tensor2d(xq, [2, 20])) as tf.Tensor);
    const got = m.predict(tf.tensor2d(x, [2, 20])) as tf.Tensor;
    assert.ok(maxAbsDiff(got, want) < 1e-6, `${maxAbsDiff(got, want)}`);
    setIntegerKernels({ activations: 'tensor' });
    const perTensor = m.predict(tf.tensor2d(x, [2, 20])) as tf.Tensor;
    setIntegerKernels({ activations: 'row' });
    assert.ok(maxAbsDiff(perTensor, got) > 0, 'per-tensor scales change the codes');
    assert.throws(
      () => setIntegerKernels({ activations: 'channel' as 'row' }),
      /'row' or 'tensor'/,
    );
    m.dispose();
  });
});
