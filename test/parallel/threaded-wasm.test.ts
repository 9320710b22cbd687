import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../src/engine/backend.js';
import { useFastKernels, useStockKernels } from '../../src/kernels/index.js';
import {
  resizeWasmThreads,
  setWasmThreads,
  wasmThreads,
  wasmThreadsReady,
} from '../../src/parallel/threaded-wasm.js';
import { ADAM_UPDATE_KERNEL, registerAdamKernel } from '../../src/train/adam-kernel.js';
import { FrugalAdam } from '../../src/train/frugal-adam.js';
import { tfjsHeapKernels } from '../../src/wasm/tfjs-heap.js';

describe('threaded wasm in Node', () => {
  it('rejects bad thread counts and non-wasm backends', async () => {
    await assert.rejects(
      initEngine({ backend: 'wasm', threads: 0 }),
      /threads must be an integer >= 1/,
    );
    await assert.rejects(
      initEngine({ backend: 'wasm', threads: 1.5 }),
      /threads must be an integer/,
    );
    await assert.rejects(initEngine({ backend: 'cpu', threads: 2 }), /wasm backend only/);
  });

  it('starts 2 XNNPACK threads, and matmul/conv results equal 1 thread to float rounding', async () => {
    await initEngine({ backend: 'wasm', threads: 2 });
    assert.equal(tf.getBackend(), 'wasm');
    assert.equal(wasmThreads(), 2);
    const a = tf.randomNormal([96, 200], 0, 1, 'float32', 1);
    const b = tf.randomNormal([200, 130], 0, 1, 'float32', 2);
    const x = tf.randomNormal<tf.Rank.R4>([4, 20, 20, 8], 0, 1, 'float32', 3);
    const w = tf.randomNormal<tf.Rank.R4>([3, 3, 8, 16], 0, 1, 'float32', 4);
    const run = () =>
      tf.tidy(() => [tf.matMul(a, b).dataSync(), tf.conv2d(x, w, 1, 'same').dataSync()]);
    const two = run();
    setWasmThreads(1);
    assert.equal(wasmThreads(), 1);
    const one = run();
    setWasmThreads(2);
    for (let k = 0; k < two.length; k++) {
      const p = two[k] as Float32Array;
      const q = one[k] as Float32Array;
      assert.equal(p.length, q.length);
      let maxRel = 0;
      for (let i = 0; i < p.length; i++) {
        const d = Math.abs((p[i] as number) - (q[i] as number));
        maxRel = Math.max(maxRel, d / Math.max(1, Math.abs(q[i] as number)));
      }
      assert.ok(maxRel < 1e-5, `output ${k}: max relative difference ${maxRel}`);
    }
    tf.dispose([a, b, x, w]);
    assert.throws(() => setWasmThreads(64), /asked for 64/);
  });

  it("frugal's fast backward kernels give the same CNN gradients on 2 threads as on 1, and leak nothing", async () => {
    await initEngine({ backend: 'wasm', threads: 2 });
    useFastKernels();
    try {
      // conv 3x3x1x16 (dW from the patches: 9 < 16), conv 3x3x16x8, max pool 2, dense 128 -> 10
      // (dy W^T as (W dy^T)^T: 10 outputs > 4 rows).
      const seeds = [
        [4, 12, 12, 1],
        [3, 3, 1, 16],
        [3, 3, 16, 8],
        [128, 10],
      ];
      const inputs = seeds.map((shape, i) => tf.randomNormal(shape, 0, 1, 'float32', 10 + i));
      const r = tf.randomNormal([4, 10], 0, 1, 'float32', 20);
      const loss = (x: tf.Tensor, w1: tf.Tensor, w2: tf.Tensor, wd: tf.Tensor) => {
        const h1 = tf.relu(tf.conv2d(x as tf.Tensor4D, w1 as tf.Tensor4D, 1, 'valid'));
        const h2 = tf.relu(tf.conv2d(h1, w2 as tf.Tensor4D, 1, 'valid'));
        const p = tf.maxPool(h2, 2, 2, 'valid').reshape([4, 128]);
        return tf.sum(tf.mul(tf.matMul(p, wd), r)) as tf.Scalar;
      };
      const grads = () =>
        tf.tidy(() =>
          tf
            .grads(loss as (...xs: tf.Tensor[]) => tf.Scalar)(inputs)
            .map((g) => g.dataSync() as Float32Array),
        );
      setWasmThreads(2);
      const two = grads();
      const tensors = tf.memory().numTensors;
      grads();
      assert.equal(tf.memory().numTensors, tensors, 'no tensor left behind by a gradient pass');
      setWasmThreads(1);
      const one = grads();
      setWasmThreads(2);
      for (let k = 0; k < two.length; k++) {
        let maxRel = 0;
        for (let i = 0; i < two[k].length; i++) {
          const d = Math.abs(two[k][i] - one[k][i]);
          maxRel = Math.max(maxRel, d / Math.max(1, Math.abs(one[k][i])));
        }
        assert.ok(maxRel < 1e-5, `gradient ${k}: max relative difference ${maxRel}`);
      }
      tf.dispose([...inputs, r]);
    } finally {
      useStockKernels();
    }
  });

  it('re-sizes the pool more often than Emscripten preallocates workers (8), without deadlocking', async () => {
    await initEngine({ backend: 'wasm', threads: 2 });
    const x = tf.randomNormal<tf.Rank.R4>([2, 12, 12, 4], 0, 1, 'float32', 5);
    const w = tf.randomNormal<tf.Rank.R4>([3, 3, 4, 8], 0, 1, 'float32', 6);
    const conv = () => tf.tidy(() => tf.conv2d(x, w, 1, 'same').dataSync() as Float32Array);
    const want = conv();
    // Each pool of 2 threads takes a fresh pthread worker for good; before the reserve, the 8th
    // re-size blocked the main thread forever at 0% CPU (bench:parallel-step with ROUNDS=15).
    for (let i = 0; i < 12; i++) {
      await resizeWasmThreads(1);
      await resizeWasmThreads(2);
      assert.equal(wasmThreads(), 2);
      const got = conv();
      for (let j = 0; j < want.length; j++) assert.ok(Math.abs(got[j] - want[j]) < 1e-4);
    }
    // Without returning to the event loop, the replacement worker cannot load: a clear error
    // instead of a deadlock.
    await wasmThreadsReady();
    setWasmThreads(1);
    setWasmThreads(2);
    setWasmThreads(1);
    assert.throws(() => setWasmThreads(2), /await wasmThreadsReady\(\) before setWasmThreads/);
    assert.equal(wasmThreads(), 1);
    await resizeWasmThreads(2);
    assert.equal(wasmThreads(), 2);
    assert.throws(() => setWasmThreads(0), /integer >= 1/);
    tf.dispose([x, w]);
  });

  it("FrugalAdam's one-pass SIMD update on the threaded build's shared memory equals its elementwise ops", async () => {
    await initEngine({ backend: 'wasm', threads: 2 });
    assert.ok(tfjsHeapKernels(tf.backend()) !== null, 'the shared-memory variant binds');
    const run = (fused: boolean) => {
      if (!fused) tf.unregisterKernel(ADAM_UPDATE_KERNEL, 'wasm');
      try {
        const w = tf.variable(tf.randomNormal([1001], 0, 1, 'float32', 7), true, `adam-w-${fused}`);
        const o = new FrugalAdam(0.01);
        for (let i = 0; i < 4; i++) {
          const g = tf.randomNormal([1001], 0, 1, 'float32', 8 + i);
          o.applyGradients({ [w.name]: g });
          g.dispose();
        }
        const out = w.dataSync() as Float32Array;
        o.dispose();
        w.dispose();
        return out;
      } finally {
        registerAdamKernel();
      }
    };
    const a = run(true);
    const b = run(false);
    let differ = 0;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) differ++;
    assert.equal(differ, 0, `${differ} of ${a.length} values differ`);
  });
});
