// Threads inside data-parallel workers: each worker starts tfjs's threaded SIMD wasm build with its
// own XNNPACK pool (threadsPerWorker), and the step equals the single-thread full-batch step.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import type { Batch } from '../../src/data/dataset.js';
import { initEngine } from '../../src/engine/backend.js';
import { buildModel } from '../../src/models/zoo.js';
import '../../src/parallel/threaded-wasm.js';
import { ParallelTrainer } from '../../src/train/parallel/index.js';
import { trainStep } from '../../src/train/step.js';
import { normalBatch, weightsOf } from '../helpers.js';

const batchOf = (rows: number, features: number, classes: number): Batch =>
  normalBatch([features], rows, classes, 5, (i) => (i * 5 + 1) % classes);

describe('threads inside data-parallel workers', () => {
  it('rejects threadsPerWorker off wasm and bad counts', async () => {
    await initEngine({ backend: 'wasm' });
    const model = buildModel('mlp', { inputShape: [4], numClasses: 2, hidden: [4], seed: 1 });
    const optimizer = { name: 'sgd' as const, learningRate: 0.1 };
    await assert.rejects(
      ParallelTrainer.create(model, { workers: 2, optimizer, threadsPerWorker: 0 }),
      /threadsPerWorker must be an integer >= 1, got 0/,
    );
    await assert.rejects(
      ParallelTrainer.create(model, { workers: 2, optimizer, threadsPerWorker: 2, backend: 'cpu' }),
      /threadsPerWorker applies to the wasm backend only/,
    );
    model.dispose();
  });

  it('2 workers x 2 XNNPACK threads: the step equals the single-thread full-batch step', async () => {
    await initEngine({ backend: 'wasm' });
    const cfg = { inputShape: [48], numClasses: 5, hidden: [96, 64], seed: 4 };
    const batch = batchOf(24, 48, 5);
    const reference = buildModel('mlp', cfg);
    const start = weightsOf(reference);
    const sgd = tf.train.sgd(1);
    const refLoss = trainStep({ model: reference, optimizer: sgd }, batch);
    sgd.dispose();
    const refMove = weightsOf(reference).map((v, i) =>
      v.map((x, k) => (start[i] as Float32Array)[k] - x),
    );
    const model = buildModel('mlp', cfg);
    const trainer = await ParallelTrainer.create(model, {
      workers: 2,
      optimizer: { name: 'sgd', learningRate: 1 },
      threadsPerWorker: 2,
    });
    try {
      assert.deepEqual(trainer.workerThreads, [2, 2]);
      const loss = await trainer.step(batch);
      assert.ok(
        Math.abs(loss - refLoss) < 1e-5 * Math.max(1, refLoss),
        `loss ${loss} vs ${refLoss}`,
      );
      const w = await trainer.replicaWeights(1);
      let scale = 0;
      let diff = 0;
      refMove.forEach((g, i) => {
        const moved = (start[i] as Float32Array).map((x, k) => x - (w[i] as Float32Array)[k]);
        for (let k = 0; k < g.length; k++) {
          scale = Math.max(scale, Math.abs(g[k] as number));
          diff = Math.max(diff, Math.abs((g[k] as number) - (moved[k] as number)));
        }
      });
      assert.ok(scale > 1e-3, `the step barely moved the weights (${scale})`);
      assert.ok(
        diff <= 1e-5 * scale,
        `threaded workers' step differs by ${diff} (largest ${scale})`,
      );
    } finally {
      await trainer.close();
      reference.dispose();
      model.dispose();
      tf.dispose([batch.xs, batch.ys]);
    }
  });
});
