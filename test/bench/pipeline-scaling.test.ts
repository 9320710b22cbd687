import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { predictScaling, type ScalingInput } from '../../bench/lib/pipeline-scaling.js';

const layers = Array.from({ length: 4 }, (_, i) => ({
  name: `l${i}`,
  fwdMs: 1,
  bwdMs: 2,
  weightBytes: 1000,
  outputBytes: 4000,
}));
const input: ScalingInput = {
  layers,
  microbatchRows: 4,
  microbatches: 4,
  // Whole model on a batch of 16 rows: 4 microbatches x 12 ms; shards scale with their rows.
  dataParallelComputeMs: { 1: 48, 2: 24, 4: 12 },
  updateMsPerWeightByte: 0.001,
  batches: 200,
};
const free = {
  name: 'free',
  link: { bandwidthBytesPerSec: Number.POSITIVE_INFINITY, latencyMs: 0 },
};
const slow = { name: 'slow', link: { bandwidthBytesPerSec: 1e6, latencyMs: 1 } };

describe('predictScaling', () => {
  it('one worker: the pipeline and data parallelism are the same plain step', () => {
    const [r] = predictScaling(input, [1], [free]);
    // 16 rows per 48 ms of compute plus a 4 ms update.
    assert.ok(Math.abs(r.pipe2bwSamplesPerSec - 16000 / 52) < 1e-6, `${r.pipe2bwSamplesPerSec}`);
    assert.ok(Math.abs(r.dataParallelSamplesPerSec - 16000 / 52) < 1e-6);
    assert.equal(r.bottleneckShare, 1);
  });

  it('a balanced 4-stage cut on free links scales close to 4x; a slow link costs both', () => {
    const [one] = predictScaling(input, [1], [free]);
    const [fast, slowRow] = predictScaling(input, [4], [free, slow]);
    assert.equal(fast.bottleneckShare, 0.25);
    const gain = fast.pipe2bwSamplesPerSec / one.pipe2bwSamplesPerSec;
    assert.ok(gain > 3.8 && gain <= 4.01, `2BW on 4 stages: ${gain}x`);
    assert.ok(slowRow.pipe2bwSamplesPerSec < fast.pipe2bwSamplesPerSec);
    assert.ok(slowRow.dataParallelSamplesPerSec < fast.dataParallelSamplesPerSec);
  });

  it('names a worker count without a data-parallel time', () => {
    assert.throws(() => predictScaling(input, [8], [free]), /no data-parallel compute time for 8/);
  });
});
