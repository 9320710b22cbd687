import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { batches } from '../../src/data/dataset.js';
import { loadMnist } from '../../src/data/mnist.js';
import { useFastKernels, useStockKernels } from '../../src/kernels/index.js';
import { buildModel } from '../../src/models/zoo.js';
import { validateTrainConfig } from '../../src/train/config.js';
import { train } from '../../src/train/loop.js';
import type { TrainProgress } from '../../src/train/progress.js';
import { trainStep } from '../../src/train/step.js';
import { BACKENDS, useBackend } from '../helpers.js';
import { tinyData } from '../tiny-data.js';

describe('training loop', () => {
  it('trains the MLP above 90% MNIST test accuracy in under a minute (wasm)', async () => {
    await useBackend('wasm');
    const data = loadMnist({ trainCount: 8000, testCount: 2000, seed: 1 });
    const model = buildModel('mlp', { inputShape: data.sampleShape, numClasses: 10, seed: 1 });
    const events: TrainProgress[] = [];
    const start = performance.now();
    const r = await train(
      model,
      data,
      { epochs: 2, batchSize: 64, learningRate: 2e-3, seed: 1 },
      { onProgress: (e) => events.push(e) },
    );
    const seconds = (performance.now() - start) / 1000;
    assert.ok(r.testAccuracy > 0.9, `accuracy ${r.testAccuracy}`);
    assert.ok(seconds < 60, `took ${seconds} s`);
    assert.equal(events.filter((e) => e.kind === 'epoch-end').length, 2);
    assert.equal(events.filter((e) => e.kind === 'step').length, r.steps);
    assert.ok(r.memory && r.memory.peakBytes > r.memory.weightBytes);
    model.dispose();
  });

  // Stock tfjs-backend-wasm has no Conv2DBackpropFilter: the conv ResNet trains on wasm with
  // frugal's fast kernels (on cpu too, as the CLI does). The fast kernels work on the backends'
  // buffers directly, so the check counts those (numDataIds) as well as tensors.
  for (const backend of BACKENDS) {
    it(`leaks no tensors or buffers over 50 steps and is deterministic under a seed (resnet, ${backend}, fast kernels)`, async () => {
      await useBackend(backend);
      useFastKernels();
      const data = tinyData([8, 8, 1], 64, 3, { numClasses: 4 });
      const run = () => {
        const model = buildModel('resnet', {
          inputShape: data.sampleShape,
          numClasses: 4,
          widths: [4, 8],
          seed: 3,
        });
        const optimizer = tf.train.adam(1e-2);
        const losses: number[] = [];
        const counts: string[] = [];
        for (let epoch = 0; epoch < 13 && losses.length < 50; epoch++) {
          for (const b of batches(data, 'train', 16, { shuffle: true, seed: epoch })) {
            losses.push(trainStep({ model, optimizer }, b));
            tf.dispose([b.xs, b.ys]);
            counts.push(`${tf.memory().numTensors}/${tf.engine().backend.numDataIds()}`);
            if (losses.length === 50) break;
          }
        }
        model.dispose();
        optimizer.dispose();
        return { losses, counts };
      };
      try {
        const a = run();
        assert.equal(a.losses.length, 50);
        // After the first step has created the optimizer's slots, the counts never move.
        assert.deepEqual(
          new Set(a.counts.slice(1)).size,
          1,
          `tensors/buffers ${a.counts.join(',')}`,
        );
        assert.ok(a.losses[49] < a.losses[0], 'loss falls');
        assert.deepEqual(run().losses, a.losses);
      } finally {
        useStockKernels();
      }
    });
  }

  it('the transformer trains on sequences without leaks', async () => {
    await useBackend('wasm');
    const data = tinyData([6, 4], 48, 5);
    const model = buildModel('transformer', {
      inputShape: [6, 4],
      numClasses: 3,
      dModel: 16,
      numHeads: 2,
      numBlocks: 1,
      seed: 2,
    });
    const before = tf.memory().numTensors;
    const r = await train(model, data, { epochs: 3, batchSize: 16, learningRate: 1e-2 });
    assert.equal(tf.memory().numTensors, before);
    assert.ok(r.history[2].meanLoss < r.history[0].meanLoss);
    model.dispose();
  });

  it('rejects bad configs naming the field', () => {
    assert.throws(() => validateTrainConfig({ epochs: 0 }), /epochs must be a positive integer/);
    assert.throws(() => validateTrainConfig({ learningRate: Number.NaN }), /learningRate/);
    assert.throws(
      () => validateTrainConfig({ optimizer: 'adamw' as never }),
      /optimizer must be one of/,
    );
    assert.throws(() => validateTrainConfig({ batch: 3 } as never), /unknown field 'batch'/);
    assert.deepEqual(
      validateTrainConfig(JSON.parse(JSON.stringify(validateTrainConfig({ epochs: 2 })))).epochs,
      2,
    );
  });
});
