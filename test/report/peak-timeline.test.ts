import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { externalMemory } from '../../src/report/external-memory.js';
import { formatTimeline, peakTimeline } from '../../src/report/peak-timeline.js';
import { useBackend } from '../helpers.js';

describe('peakTimeline', () => {
  before(() => useBackend('cpu'));

  it('finds the kernel at which live bytes peak and what led to it', () => {
    const t = peakTimeline(() => {
      const a = tf.fill([1000], 1); // 4000 bytes
      const b = tf.add(a, a); // 8000 live: the peak
      tf.dispose([a, b]);
      return tf.tidy(() => tf.ones([500]).sum()); // 2004 at most
    });
    t.result.dispose();
    assert.equal(t.peakBytes, 8000);
    assert.equal(t.peak?.kernel, 'Add');
    assert.deepEqual(t.peak?.shapes, [[1000]]);
    assert.equal(t.leadUp[t.leadUp.length - 1], t.peak);
    assert.deepEqual(
      t.leadUp.map((e) => e.kernel),
      ['Fill', 'Add'],
    );
    assert.ok(t.events > t.leadUp.length - 1);
    assert.match(formatTimeline(t), /\* #\d+ Add \[1000\] 0\.01 MB/);
  });

  it('counts tracked JS memory and restores the engine afterwards', () => {
    const run = (tf.engine() as unknown as { runKernel: unknown }).runKernel;
    const t = peakTimeline(() => {
      externalMemory.track(1e6);
      externalMemory.release(1e6);
      tf.tidy(() => tf.zeros([10]));
    }, 3);
    assert.equal(t.peak?.kernel, 'external');
    assert.equal(t.peakBytes, 1e6);
    assert.equal((tf.engine() as unknown as { runKernel: unknown }).runKernel, run);
    assert.throws(() => peakTimeline(() => 0, 0), /context must be a positive integer/);
  });
});
