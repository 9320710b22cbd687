import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type LayerCost, planPipeline } from '../../src/pipeline/planner.js';
import { checkSchedule, stageSchedule } from '../../src/pipeline/schedule.js';
import { simulateDataParallel, simulatePipeline } from '../../src/pipeline/simulator.js';

test('2BW schedule: at most two weight versions per stage, forward and backward of a microbatch on one version, one-step-stale versions', () => {
  for (const d of [2, 3, 4]) {
    for (const m of [d - 1, d, 2 * d]) {
      for (let s = 0; s < d; s++) {
        const ops = stageSchedule('2bw', s, d, m, 5);
        const r = checkSchedule(ops);
        assert.ok(r.maxVersions <= 2, `d=${d} m=${m} stage ${s}: ${r.maxVersions} versions`);
        assert.ok(r.maxInFlight <= d - s, `stage ${s} holds ${r.maxInFlight} microbatches`);
        for (const op of ops)
          if (op.kind !== 'U') assert.equal(op.version, Math.max(0, op.batch - 1));
      }
    }
  }
  // The checker rejects a backward on another version than its forward.
  const ops = stageSchedule('2bw', 0, 2, 2, 3);
  const b = ops.findIndex((o) => o.kind === 'B' && o.batch === 2);
  const broken = ops.map((o, i) => (i === b ? { ...o, version: 0 } : o));
  assert.throws(() => checkSchedule(broken), /forward on version 1, backward on version 0/);
  assert.throws(() => stageSchedule('2bw', 0, 4, 2, 1), /at least 3 microbatches/);
});

test('Flush and GPipe schedules use one version per batch; GPipe holds all microbatches', () => {
  for (const mode of ['flush', 'gpipe'] as const) {
    const ops = stageSchedule(mode, 0, 3, 4, 3);
    const r = checkSchedule(ops);
    assert.equal(r.maxVersions, 1);
    assert.equal(r.maxInFlight, mode === 'gpipe' ? 4 : 3);
  }
});

const layer = (name: string, timeMs: number, weightBytes = 100): LayerCost => ({
  name,
  timeMs,
  weightBytes,
  activationBytes: 10,
  outputBytes: 10,
});

test('planner balances time and respects the memory budget; bad input is a clear error', () => {
  const costs = [layer('a', 1), layer('b', 1), layer('c', 1), layer('d', 3)];
  const p = planPipeline(costs, { stages: 2, microbatches: 2 });
  assert.deepEqual(
    p.stages.map((s) => s.names),
    [['a', 'b', 'c'], ['d']],
  );
  assert.equal(p.bottleneckMs, 3);
  // A budget that 3 layers' weights on stage 0 exceed moves the cut.
  const tight = planPipeline(costs, { stages: 2, microbatches: 2, memoryBudgetBytes: 1200 });
  for (const s of tight.stages) assert.ok(s.memoryBytes <= 1200);
  assert.deepEqual(
    tight.stages.map((s) => s.names.length),
    [2, 2],
  );
  assert.throws(
    () => planPipeline(costs, { stages: 5, microbatches: 2 }),
    /more stages than layers/,
  );
  assert.throws(
    () => planPipeline(costs, { stages: 2, microbatches: 2, memoryBudgetBytes: 100 }),
    /no split into 2 stages fits the memory budget/,
  );
});

test('simulator: a balanced 1F1B pipeline matches the closed form; 2BW has no flush bubble', () => {
  const stages = [0, 1, 2, 3].map(() => ({ fwdMs: 1, bwdMs: 2, outputBytes: 0 }));
  const link = { bandwidthBytesPerSec: Number.POSITIVE_INFINITY, latencyMs: 0 };
  const m = 8;
  const flush = simulatePipeline({ mode: 'flush', stages, microbatches: m, batches: 1, link });
  // (m + d - 1) x (f + b) for a balanced pipeline with a flush.
  assert.equal(flush.totalMs, (m + 3) * 3);
  const gpipe = simulatePipeline({ mode: 'gpipe', stages, microbatches: m, batches: 1, link });
  assert.equal(gpipe.totalMs, (m + 3) * 3);
  const twoBw = simulatePipeline({ mode: '2bw', stages, microbatches: m, batches: 10, link });
  const flush10 = simulatePipeline({ mode: 'flush', stages, microbatches: m, batches: 10, link });
  assert.equal(twoBw.totalMs, (10 * m + 3) * 3);
  assert.ok(twoBw.totalMs < flush10.totalMs);
  // A slow link adds latency and transfer time.
  const slow = simulatePipeline({
    mode: 'flush',
    stages: stages.map((s) => ({ ...s, outputBytes: 1000 })),
    microbatches: m,
    batches: 1,
    link: { bandwidthBytesPerSec: 1e6, latencyMs: 1 },
  });
  assert.ok(slow.totalMs > flush.totalMs);
  const dp = simulateDataParallel({
    workers: 4,
    computeMs: 10,
    gradientBytes: 4e6,
    updateMs: 1,
    batches: 2,
    link: { bandwidthBytesPerSec: 1e9, latencyMs: 0.5 },
  });
  // Ring all-reduce: 2 (p - 1) x (latency + bytes / p / bandwidth) = 6 x (0.5 + 1) ms.
  assert.equal(dp.msPerBatch, 11 + 9);
});
