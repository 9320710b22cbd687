import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { finetuneWithMasks } from '../../../src/compress/sparsity/masked-finetune.js';
import { magnitudeNMMask } from '../../../src/compress/sparsity/nm-mask.js';
import { buildModel } from '../../../src/models/zoo.js';
import { useBackend } from '../../helpers.js';
import { tinyData } from '../../tiny-data.js';

describe('masked fine-tuning', () => {
  for (const backend of ['cpu', 'wasm']) {
    it(`keeps pruned weights at exactly 0, lowers the loss, leaks nothing (${backend})`, async () => {
      await useBackend(backend);
      const data = tinyData([16], 256, 2);
      const model = buildModel('mlp', { inputShape: [16], numClasses: 3, hidden: [16], seed: 1 });
      const kernel = model.getLayer('dense1').getWeights()[0];
      const initial = kernel.dataSync().slice();
      const mask = magnitudeNMMask(initial, kernel.shape, 2, 4);
      const before = tf.memory().numTensors;
      const r = finetuneWithMasks(model, new Map([['dense1', mask]]), data, {
        steps: 40,
        batchSize: 32,
        learningRate: 1e-2,
        seed: 1,
      });
      assert.equal(tf.memory().numTensors, before, 'tensor count stable across steps');
      const after = model.getLayer('dense1').getWeights()[0].dataSync();
      let changed = 0;
      for (let i = 0; i < mask.length; i++) {
        if (!mask[i]) assert.ok(after[i] === 0, `pruned weight ${i} is ${after[i]}`);
        else if (after[i] !== initial[i]) changed++;
      }
      assert.ok(changed > 0, 'kept weights were trained');
      const head = r.losses.slice(0, 5).reduce((a, b) => a + b) / 5;
      const tail = r.losses.slice(-5).reduce((a, b) => a + b) / 5;
      assert.ok(tail < head, `${head} -> ${tail}`);
    });
  }
});
