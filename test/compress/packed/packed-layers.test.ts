import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { setIntegerKernels } from '../../../src/compress/packed/int-kernel.js';
import {
  decodeKernel,
  encodeKernel,
  type KernelCodec,
} from '../../../src/compress/packed/kernel-codec.js';
import { PackedConv2D } from '../../../src/compress/packed/packed-conv2d.js';
import { PackedDense } from '../../../src/compress/packed/packed-dense.js';
import { isNMMask } from '../../../src/compress/sparsity/nm-mask.js';
import { makeRng, normal } from '../../../src/engine/random.js';
import { loadModel, saveModel } from '../../../src/io/model-files.js';
import { BACKENDS, maxAbsDiff, useBackend } from '../../helpers.js';
import { tempDir } from '../../temp-dir.js';

const dir = tempDir('frugal-packed-');

const codec = (bits: number, n = 0, m = 0): KernelCodec => ({
  bits,
  scheme: 'symmetric',
  granularity: 'channel',
  n,
  m,
});

function weights(count: number, seed: number): Float32Array {
  const rng = makeRng(seed);
  return Float32Array.from({ length: count }, () => normal(rng) * 0.1);
}

describe('kernel codec', () => {
  it('float 2:4 keeps exactly the largest two of every four input weights', () => {
    const shape = [3, 3, 8, 4];
    const w = weights(3 * 3 * 8 * 4, 1);
    const back = decodeKernel(encodeKernel(w, shape, codec(0, 2, 4)), shape, codec(0, 2, 4));
    const mask = back.map((v) => (v !== 0 ? 1 : 0));
    assert.ok(isNMMask(mask, shape, 2, 4));
    for (let i = 0; i < w.length; i++) if (back[i] !== 0) assert.equal(back[i], w[i]);
  });
  it('int4 + 2:4 stores about 2.75 bits per weight and decodes within half a step', () => {
    const shape = [64, 32];
    const w = weights(64 * 32, 2);
    const enc = encodeKernel(w, shape, codec(4, 2, 4));
    const bytes = enc.reduce((s, a) => s + a.byteLength, 0);
    assert.ok(bytes * 8 < 64 * 32 * 2.9 + 32 * 64, `${bytes} bytes`);
    const back = decodeKernel(enc, shape, codec(4, 2, 4));
    const scale = enc[1] as Float32Array;
    for (let i = 0; i < w.length; i++) {
      if (back[i] !== 0) assert.ok(Math.abs(back[i] - w[i]) <= scale[i % 32] / 2 + 1e-7);
    }
  });
  it('names the problem for bad input', () => {
    assert.throws(
      () => encodeKernel(weights(6 * 4, 1), [6, 4], codec(4, 2, 4)),
      /6 input channels are not a multiple of M=4/,
    );
    assert.throws(() => encodeKernel([1, Number.NaN], [1, 2], codec(8)), /non-finite weight/);
    assert.throws(
      () => encodeKernel([1, 2], [1, 2], codec(1)),
      /bits must be an integer from 2 to 8/,
    );
    assert.throws(
      () => encodeKernel([1, 2, 3, 4], [4, 1], codec(0, 3, 2)),
      /N must be an integer from 1 to M-1/,
    );
    assert.throws(
      () => encodeKernel([1, 2, 3, 4], [4, 1], codec(0, 2, 4), { mask: [1, 1, 1, 0] }),
      /not a valid 2:4 mask/,
    );
  });
});

for (const backend of BACKENDS) {
  describe(`packed layers on ${backend}`, () => {
    it('save, load (standard tfjs files), predict the decoded kernels, shrink weights.bin, fit', async (t) => {
      await useBackend(backend);
      // The decoded float path (what backends without integer kernels run); see packed-int.test.ts.
      setIntegerKernels({ enabled: false });
      t.after(() => setIntegerKernels({ enabled: true }));
      const input = tf.input({ shape: [6, 6, 4] });
      const convShape = [3, 3, 4, 8];
      const conv = new PackedConv2D({
        kernelShape: convShape,
        codec: codec(4, 2, 4),
        activation: 'relu',
        padding: 'same',
        name: 'pconv',
      });
      const flat = tf.layers.flatten().apply(conv.apply(input)) as tf.SymbolicTensor;
      const denseShape = [288, 16];
      const dense = new PackedDense({ kernelShape: denseShape, codec: codec(8), name: 'pdense' });
      const head = tf.layers.dense({ units: 3, name: 'head' });
      const out = head.apply(dense.apply(flat)) as tf.SymbolicTensor;
      const model = tf.model({ inputs: input, outputs: out });
      const wc = weights(3 * 3 * 4 * 8, 3);
      const wd = weights(288 * 16, 4);
      conv.setPacked(encodeKernel(wc, convShape, conv.codec), weights(8, 5));
      dense.setPacked(encodeKernel(wd, denseShape, dense.codec), weights(16, 6));

      const x = tf.randomNormal([2, 6, 6, 4], 0, 1, 'float32', 7);
      const expected = tf.tidy(() => {
        const k = tf.tensor4d(conv.kernelValues(), convShape as [number, number, number, number]);
        let h = tf.relu(tf.add(tf.conv2d(x as tf.Tensor4D, k, 1, 'same'), conv.biasValues()!));
        h = h.reshape([2, 288]);
        h = tf.add(
          tf.matMul(h as tf.Tensor2D, tf.tensor2d(dense.kernelValues(), [288, 16])),
          dense.biasValues()!,
        );
        return head.apply(h) as tf.Tensor;
      });
      assert.ok(maxAbsDiff(model.predict(x) as tf.Tensor, expected) < 1e-4);

      const target = join(dir, `m-${backend}`);
      await saveModel(model, target);
      const bytes = statSync(join(target, 'weights.bin')).size;
      const floatBytes = (wc.length + 8 + wd.length + 16 + 16 * 3 + 3) * 4;
      assert.ok(bytes < floatBytes * 0.3, `${bytes} bytes vs ${floatBytes} float`);
      const loaded = await loadModel(target);
      assert.equal(maxAbsDiff(model.predict(x) as tf.Tensor, loaded.predict(x) as tf.Tensor), 0);
      assert.equal(loaded.getLayer('pconv').getClassName(), 'FrugalPackedConv2D');

      loaded.compile({ optimizer: 'adam', loss: 'meanSquaredError' });
      const before = tf.memory().numTensors;
      const h = await loaded.fit(x, tf.zeros([2, 3]), { epochs: 2, verbose: 0 });
      assert.ok(Number.isFinite(h.history.loss[1] as number));
      assert.ok(tf.memory().numTensors - before < 20, 'no growing leak');
      const n0 = tf.memory().numTensors;
      tf.dispose(loaded.predict(x) as tf.Tensor);
      assert.equal(tf.memory().numTensors, n0, 'predict leaves no tensors');
    });
  });
}
