import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { batches } from '../../src/data/dataset.js';
import { useFastKernels, useStockKernels } from '../../src/kernels/index.js';
import { trainStep } from '../../src/train/step.js';
import { useBackend } from '../helpers.js';
import { tinyData } from '../tiny-data.js';
import { tinyCnn } from '../tiny-models.js';
import { relativeError } from './reference.js';

/** Trains a small zoo CNN (conv-conv-maxpool-dense-dense) for a few Adam steps. */
async function trainCnn(backend: string, kernels: 'fast' | 'stock') {
  await useBackend(backend);
  if (kernels === 'fast') useFastKernels();
  try {
    const data = tinyData([10, 10, 1], 48, 9);
    const model = tinyCnn([4, 6], 12, 4, [10, 10, 1]);
    const optimizer = tf.train.adam(1e-2);
    const losses: number[] = [];
    for (const seed of [1, 2]) {
      for (const b of batches(data, 'train', 16, { shuffle: true, seed })) {
        losses.push(trainStep({ model, optimizer }, b));
        tf.dispose([b.xs, b.ys]);
      }
    }
    const weights = model.getWeights().map((w) => w.dataSync() as Float32Array);
    model.dispose();
    optimizer.dispose();
    return { losses, weights };
  } finally {
    useStockKernels();
  }
}

describe('a CNN trained with fast kernels follows the stock-kernel run (same seed)', () => {
  for (const backend of ['cpu', 'wasm']) {
    it(`6 Adam steps on ${backend} vs stock cpu: same losses and weights`, async () => {
      const stock = await trainCnn('cpu', 'stock');
      const fast = await trainCnn(backend, 'fast');
      assert.equal(fast.losses.length, 6);
      assert.ok(fast.losses[5] < fast.losses[0], `loss falls: ${fast.losses}`);
      fast.losses.forEach((l, i) => {
        assert.ok(Math.abs(l - stock.losses[i]) < 1e-4 * Math.max(1, stock.losses[i]), `step ${i}`);
      });
      fast.weights.forEach((w, i) => {
        assert.ok(relativeError(w, stock.weights[i]) < 1e-3, `weight ${i}`);
      });
    });
  }
});
