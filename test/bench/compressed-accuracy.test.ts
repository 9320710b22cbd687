import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { compressedCnnAccuracy } from '../../bench/lib/compressed-accuracy.js';
import { syntheticClassification } from '../../src/data/synthetic.js';
import { useBackend } from '../helpers.js';

describe('bench/lib compressedCnnAccuracy', () => {
  it('trains the zoo CNN with compressed activations, is seeded, and frees what it builds', async () => {
    await useBackend('cpu');
    const counts = { trainCount: 16, testCount: 20 };
    const data = syntheticClassification({ sampleShape: [8, 8, 1], numClasses: 10, ...counts });
    const schedule = { epochs: 1, batchSize: 8, learningRate: 0.002, measureMemory: false };
    const before = tf.memory().numTensors;
    const a = await compressedCnnAccuracy(data, { level: 'L3', seed: 1 }, schedule, 1);
    assert.equal(tf.memory().numTensors, before);
    assert.ok(a >= 0 && a <= 1, `accuracy ${a}`);
    assert.equal(await compressedCnnAccuracy(data, { level: 'L3', seed: 1 }, schedule, 1), a);
  });
});
