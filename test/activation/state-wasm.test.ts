// The wasm kernels of the backward state (ReLU mask, max-pool argmax) against the JS path: the
// same packed words and bit-identical gradients, on the cpu and the wasm backend (where the
// inputs are read through views of the tfjs-wasm memory), and no leaks.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { saveActivationGrad } from '../../src/activation/codec/activation-save.js';
import { activationCodec, setActivationCodec } from '../../src/activation/codec/codec-kernel.js';
import { savePositiveMask } from '../../src/activation/codec/saved.js';
import { CompressedConv2D } from '../../src/activation/layers/compressed-conv2d.js';
import { CompressedDense } from '../../src/activation/layers/compressed-dense.js';
import { CompressedMaxPool2D } from '../../src/activation/layers/compressed-max-pool.js';
import { makeRng } from '../../src/engine/random.js';
import {
  backwardChunkBytes,
  fastKernelsActive,
  seedActivationRng,
  setBackwardChunkBytes,
} from '../../src/engine/settings.js';
import { useFastKernels, useStockKernels } from '../../src/kernels/index.js';
import { wasmKernels } from '../../src/wasm/module.js';
import { useBackend } from '../helpers.js';

/** Bits of a Float32Array, so -0 and NaN payloads count as differences. */
function bitsOf(t: tf.Tensor): number[] {
  return Array.from(new Int32Array(new Float32Array(t.dataSync()).buffer));
}

/** Values with zeros, -0, negatives, NaN and ties, as a tensor of `shape`. */
function awkward(shape: number[], seed: number): tf.Tensor {
  const rng = makeRng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const r = rng();
    v[i] =
      r < 0.1
        ? 0
        : r < 0.15
          ? -0
          : r < 0.18
            ? Number.NaN
            : r < 0.3
              ? 0.5
              : Math.fround(rng() * 4 - 2);
  }
  return tf.tensor(v, shape);
}

function withCodec<T>(k: 'js' | 'wasm', f: () => T): T {
  const prev = activationCodec();
  setActivationCodec(k);
  try {
    return f();
  } finally {
    setActivationCodec(prev);
  }
}

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`backward state kernels in wasm (${backend} backend)`, () => {
    it('packs the ReLU mask into the same words as the JS path, in chunks of any alignment', async () => {
      await useBackend(backend);
      const prev = backwardChunkBytes();
      // 3 rows per chunk of 37 values: chunks start at bit offsets that are not multiples of 32.
      setBackwardChunkBytes(3 * 37 * 4);
      try {
        for (const shape of [[10, 37], [4, 64], [1, 5], [7]]) {
          const x = awkward(shape, shape[0]);
          const js = withCodec('js', () => savePositiveMask(x));
          const wa = withCodec('wasm', () => savePositiveMask(x));
          assert.deepEqual(
            Array.from(wa.tensors[0].dataSync()),
            Array.from(js.tensors[0].dataSync()),
          );
          tf.dispose([x, ...js.tensors, ...wa.tensors]);
        }
      } finally {
        setBackwardChunkBytes(prev);
      }
    });

    it('dy through the ReLU mask is bit-identical to dy * mask (whole and by rows; -0 kept)', async () => {
      await useBackend(backend);
      const z = awkward([9, 6, 5, 3], 3);
      const dy = awkward([9, 6, 5, 3], 4);
      const opts = { bits: 2 as const, fewbit: 0 as const };
      const js = withCodec('js', () => saveActivationGrad('relu', z, opts));
      const wa = withCodec('wasm', () => saveActivationGrad('relu', z, opts));
      const before = tf.memory().numTensors;
      const pairs: [tf.Tensor, tf.Tensor][] = [];
      pairs.push([
        withCodec('js', () => js.restore(js.tensors)(dy)),
        withCodec('wasm', () => wa.restore(wa.tensors)(dy)),
      ]);
      for (const [first, count] of [
        [0, 3],
        [3, 5],
        [8, 1],
      ]) {
        const rows = tf.slice(dy, [first, 0, 0, 0], [count, 6, 5, 3]);
        const a = withCodec('js', () => js.restoreRows!(js.tensors, first, count)(rows));
        const b = withCodec('wasm', () => wa.restoreRows!(wa.tensors, first, count)(rows));
        rows.dispose();
        pairs.push([a, b]);
      }
      for (const [a, b] of pairs) assert.deepEqual(bitsOf(b), bitsOf(a));
      tf.dispose(pairs.flat());
      assert.equal(tf.memory().numTensors, before, 'no tensor left behind');
      tf.dispose([z, dy, ...js.tensors, ...wa.tensors]);
      assert.equal(wasmKernels().heap.liveBlocks, 0, 'no wasm heap block left behind');
    });

    it('under the fast kernels, dz and its bias sum from one wasm pass equal the mask and tf.sum bit for bit', async () => {
      await useBackend(backend);
      const wasFast = fastKernelsActive();
      useFastKernels();
      try {
        // Channels a multiple of 4 (the SIMD sums) and not (the scalar ones).
        for (const shape of [
          [7, 5, 3, 8],
          [9, 6, 5, 3],
          [4, 37],
        ]) {
          const z = awkward(shape, shape[1]);
          const dy = awkward(shape, shape[1] + 1);
          const opts = { bits: 2 as const, fewbit: 0 as const };
          const wa = withCodec('wasm', () => saveActivationGrad('relu', z, opts));
          const axes = shape.slice(0, -1).map((_, i) => i);
          const before = tf.memory().numTensors;
          for (const [first, count] of [
            [0, shape[0]],
            [1, 3],
            [shape[0] - 1, 1],
          ]) {
            const rows = tf.slice(
              dy,
              [first, ...shape.slice(1).map(() => 0)],
              [count, ...shape.slice(1)],
            );
            const ref = withCodec('js', () => wa.restoreRows!(wa.tensors, first, count)(rows));
            const refSum = tf.sum(ref, axes);
            const fused = withCodec('wasm', () => wa.summedRows!(wa.tensors, first, count)(rows));
            assert.ok(fused !== null, 'the fused pass runs under the fast kernels');
            assert.deepEqual(bitsOf(fused.dz), bitsOf(ref));
            assert.deepEqual(bitsOf(fused.db), bitsOf(refSum));
            tf.dispose([rows, ref, refSum, fused.dz, fused.db]);
          }
          assert.equal(tf.memory().numTensors, before, 'no tensor left behind');
          assert.equal(wasmKernels().heap.liveBlocks, 0, 'no wasm heap block left behind');
          tf.dispose([z, dy, ...wa.tensors]);
        }
      } finally {
        useStockKernels();
      }
      // Without them tf.sum's kernel may add in float32: the fused pass steps aside.
      const z = awkward([3, 8], 1);
      const wa = withCodec('wasm', () => saveActivationGrad('relu', z, { bits: 2, fewbit: 0 }));
      assert.equal(
        withCodec('wasm', () => wa.summedRows!(wa.tensors, 0, 3)(z)),
        null,
      );
      tf.dispose([z, ...wa.tensors]);
      if (wasFast) useFastKernels();
    });

    const pools = [
      { pool: 2, strides: 2, padding: 'valid' as const, shape: [5, 8, 8, 8] },
      { pool: 3, strides: 2, padding: 'same' as const, shape: [3, 7, 9, 3] },
      { pool: 2, strides: 1, padding: 'valid' as const, shape: [2, 5, 4, 4] },
      // Padded windows on the SIMD path (c a multiple of 4): the window's clipped ranges.
      { pool: 3, strides: 2, padding: 'same' as const, shape: [2, 7, 9, 8] },
      { pool: 2, strides: 2, padding: 'same' as const, shape: [2, 5, 7, 4] },
    ];
    for (const p of pools) {
      it(`max-pool ${p.pool}x${p.pool}/${p.strides} ${p.padding} c=${p.shape[3]}: same codes and gradient`, async () => {
        await useBackend(backend);
        const layer = new CompressedMaxPool2D({
          poolSize: p.pool,
          strides: p.strides,
          padding: p.padding,
        });
        const x = awkward(p.shape, p.shape[1]).abs(); // ties (0.5, 0) but no NaN: a defined argmax
        const xs = tf.where(tf.isNaN(x), tf.zerosLike(x), x);
        const run = (k: 'js' | 'wasm') =>
          withCodec(k, () => {
            const f = (t: tf.Tensor) => {
              const y = layer.apply(t, { training: true }) as tf.Tensor;
              return tf.sum(tf.mul(y, tf.randomNormal(y.shape, 0, 1, 'float32', 5))) as tf.Scalar;
            };
            const dx = tf.grad(f)(xs);
            const saved = layer.lastSavedBytes;
            return { dx, saved };
          });
        const a = run('js');
        const before = tf.memory().numTensors;
        const b = run('wasm');
        assert.equal(tf.memory().numTensors, before + 1, 'only dx is left');
        assert.equal(b.saved, a.saved);
        assert.deepEqual(bitsOf(b.dx), bitsOf(a.dx));
        tf.dispose([x, xs, a.dx, b.dx]);
      });
    }

    for (const fast of [false, true])
      it(`a conv-relu-pool-dense stack trains to bit-identical gradients with the wasm codec${fast ? ' (fast kernels: fused bias sums)' : ''}`, async () => {
        await useBackend(backend);
        const wasFast = fastKernelsActive();
        if (fast) useFastKernels();
        try {
          const conv = new CompressedConv2D({
            filters: 4,
            kernelSize: 3,
            activation: 'relu',
            actBits: 2,
          });
          const pool = new CompressedMaxPool2D({ poolSize: 2 });
          const dense = new CompressedDense({ units: 5, activation: 'relu', actBits: 2 });
          const x = tf.randomNormal([6, 8, 8, 2], 0, 1, 'float32', 7);
          const f = () => {
            const h = pool.apply(conv.apply(x, { training: true }), {
              training: true,
            }) as tf.Tensor;
            const y = dense.apply(h.reshape([6, -1]), { training: true }) as tf.Tensor;
            return tf.sum(tf.mul(y, tf.randomNormal(y.shape, 0, 1, 'float32', 8))) as tf.Scalar;
          };
          f().dispose(); // builds the layers
          const vars = [...conv.trainableWeights, ...dense.trainableWeights].map(
            (w) => w.read() as tf.Variable,
          );
          const run = (k: 'js' | 'wasm') =>
            withCodec(k, () => {
              seedActivationRng(11);
              const { value, grads } = tf.variableGrads(f, vars);
              value.dispose();
              return vars.map((v) => grads[v.name]);
            });
          const a = run('js');
          const before = tf.memory().numTensors;
          const b = run('wasm');
          assert.equal(tf.memory().numTensors, before + b.length, 'only the gradients are left');
          for (let i = 0; i < a.length; i++) assert.deepEqual(bitsOf(b[i]), bitsOf(a[i]));
          tf.dispose([x, ...a, ...b]);
        } finally {
          if (fast && !wasFast) useStockKernels();
        }
      });
  });
}

describe('backward state kernels across a backend switch', () => {
  it('read a tensor made on cpu before switching to wasm (the backend moves it on access)', async () => {
    await useBackend('cpu');
    const x = awkward([3, 40], 9);
    const ref = Array.from(withCodec('js', () => savePositiveMask(x)).tensors[0].dataSync());
    await useBackend('wasm');
    const y = awkward([3, 40], 9); // made on wasm: the heap-view path
    const fromCpu = withCodec('wasm', () => savePositiveMask(x));
    const onWasm = withCodec('wasm', () => savePositiveMask(y));
    assert.deepEqual(Array.from(fromCpu.tensors[0].dataSync()), ref);
    assert.deepEqual(Array.from(onWasm.tensors[0].dataSync()), ref);
    tf.dispose([x, y, ...fromCpu.tensors, ...onWasm.tensors]);
  });
});
