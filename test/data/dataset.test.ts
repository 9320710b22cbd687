import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { batchCount, batches } from '../../src/data/dataset.js';
import { loadMnist } from '../../src/data/mnist.js';
import { syntheticClassification } from '../../src/data/synthetic.js';
import { useBackend } from '../helpers.js';

describe('mnist loader', () => {
  it('gives the same split for the same seed and a different one for another seed', () => {
    const a = loadMnist({ trainCount: 500, testCount: 100, seed: 3 });
    const b = loadMnist({ trainCount: 500, testCount: 100, seed: 3 });
    const c = loadMnist({ trainCount: 500, testCount: 100, seed: 4 });
    assert.deepEqual(a.train.y, b.train.y);
    assert.deepEqual(a.test.x, b.test.x);
    assert.notDeepEqual(a.train.y, c.train.y);
    assert.deepEqual(a.sampleShape, [28, 28, 1]);
  });

  it('keeps train and test disjoint and covers all ten digits', () => {
    const d = loadMnist({ trainCount: 9000, testCount: 1000, seed: 1 });
    const key = (x: Float32Array, i: number) => x.subarray(i * 784, (i + 1) * 784).join(',');
    const train = new Set(Array.from({ length: d.train.count }, (_, i) => key(d.train.x, i)));
    let shared = 0;
    for (let i = 0; i < d.test.count; i++) if (train.has(key(d.test.x, i))) shared++;
    // The package itself holds a handful of duplicate images; a leak of the split would show hundreds.
    assert.ok(shared < 5, `${shared} test images also in train`);
    assert.equal(new Set(d.train.y).size, 10);
    const max = d.train.x.reduce((m, v) => Math.max(m, v), 0);
    assert.ok(max <= 1 && max > 0.9);
  });

  it('rejects requests for more samples than exist', () => {
    assert.throws(
      () => loadMnist({ trainCount: 9500, testCount: 1000 }),
      /10500 samples requested but only 10000 exist/,
    );
    assert.throws(() => loadMnist({ trainCount: 0 }), /positive integer/);
  });

  it('count errors show the defaults', () => {
    assert.throws(
      () => loadMnist({ trainCount: 9000 }),
      /11000 samples requested but only 10000 exist \(defaults: train 8000, test 2000 of the 10000\)/,
    );
  });

  it('gives sequence layout [28, 28] for the Transformer', () => {
    assert.deepEqual(
      loadMnist({ trainCount: 10, testCount: 10, layout: 'sequence' }).sampleShape,
      [28, 28],
    );
  });
});

describe('batches', () => {
  it('are deterministic by seed, cover the split once, and free nothing they do not own', async () => {
    await useBackend('cpu');
    const d = syntheticClassification({ trainCount: 50, testCount: 10, seed: 2 });
    const labels = (seed: number) => {
      const out: number[] = [];
      for (const b of batches(d, 'train', 16, { shuffle: true, seed })) {
        assert.deepEqual(b.xs.shape.slice(1), d.sampleShape);
        assert.deepEqual(b.ys.shape, [b.size, d.numClasses]);
        out.push(...b.labels);
        tf.dispose([b.xs, b.ys]);
      }
      return out;
    };
    const before = tf.memory().numTensors;
    const a = labels(5);
    assert.deepEqual(a, labels(5));
    assert.notDeepEqual(a, labels(6));
    assert.equal(a.length, 50);
    assert.deepEqual([...a].sort(), [...d.train.y].sort());
    assert.equal(tf.memory().numTensors, before);
    assert.equal(batchCount(50, 16), 4);
    assert.equal(batchCount(50, 16, true), 3);
    assert.throws(() => batches(d, 'train', 0).next(), /batch size/);
  });
});
