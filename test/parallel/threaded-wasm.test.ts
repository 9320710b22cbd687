import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../src/engine/backend.js';
import { setWasmThreads, wasmThreads } from '../../src/parallel/threaded-wasm.js';

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
});
