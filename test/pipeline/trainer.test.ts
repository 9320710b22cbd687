import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import type { Batch } from '../../src/data/dataset.js';
import { buildModel } from '../../src/models/zoo.js';
import { delayedGradients } from '../../src/pipeline/delayed.js';
import { type PipelineOptions, PipelineTrainer } from '../../src/pipeline/trainer.js';
import { makeOptimizer, type OptimizerName } from '../../src/train/optimizer.js';
import { modelArtifacts } from '../../src/train/parallel/model-transfer.js';
import { trainStep } from '../../src/train/step.js';
import { onFastWasm } from '../fast-wasm-suite.js';
import { maxAbsDiff, normalBatch, weightsOf } from '../helpers.js';
import { tinyCnn } from '../tiny-models.js';

function mlp(seed = 3): tf.LayersModel {
  return buildModel('mlp', { inputShape: [6], numClasses: 3, hidden: [10, 8], seed });
}

const batchOf = (shape: number[], rows: number, seed: number): Batch =>
  normalBatch(shape, rows, 3, seed, (i) => (i * 5 + seed) % 3);

function batches(shape: number[], rows: number, n: number): Batch[] {
  return Array.from({ length: n }, (_, i) => batchOf(shape, rows, 11 + i));
}

function disposeAll(data: Batch[]): void {
  tf.dispose(data.flatMap((b) => [b.xs, b.ys]));
}

/** The weights after training a copy of `model` on `data` with each gradient `delay` steps stale. */
async function reference(
  model: tf.LayersModel,
  data: Batch[],
  delay: number,
  optimizer: OptimizerName,
  lr: number,
): Promise<{ weights: Float32Array[]; losses: number[] }> {
  const twin = await tf.loadLayersModel(tf.io.fromMemory(await modelArtifacts(model)));
  const opt = makeOptimizer(optimizer, lr);
  const d = delayedGradients(delay);
  const losses = data.map((b) => trainStep({ model: twin, optimizer: opt, hooks: d.hooks }, b));
  d.dispose();
  opt.dispose();
  const weights = weightsOf(twin);
  twin.dispose();
  return { weights, losses };
}

function largestDiff(a: Float32Array[], b: Float32Array[]): number {
  assert.equal(a.length, b.length);
  let m = 0;
  a.forEach((v, i) => {
    m = Math.max(m, maxAbsDiff(v, b[i]));
  });
  return m;
}

/** Asserts that every weight of `got` is within 1e-5 of `want`'s, and each loss too. */
function assertNear(
  got: { weights: Float32Array[]; losses?: number[] },
  want: { weights: Float32Array[]; losses: number[] },
  what: string,
): void {
  const diff = largestDiff(got.weights, want.weights);
  assert.ok(diff < 1e-5, `${what}: weights differ by ${diff}`);
  got.losses?.forEach((l, i) => {
    assert.ok(Math.abs(l - want.losses[i]) < 1e-5, `${what}: loss ${i}: ${l} vs ${want.losses[i]}`);
  });
}

/** `check` with mlp(seed) and `count` batches of `rows` rows, all freed after it. */
async function withMlp(
  seed: number,
  [rows, count]: [number, number],
  check: (model: tf.LayersModel, data: Batch[]) => Promise<void>,
): Promise<void> {
  const model = mlp(seed);
  const data = batches([6], rows, count);
  try {
    await check(model, data);
  } finally {
    disposeAll(data);
    model.dispose();
  }
}

async function pipelined(
  model: tf.LayersModel,
  data: Batch[],
  options: Partial<PipelineOptions>,
  stream: boolean,
): Promise<{ weights: Float32Array[]; losses: number[] }> {
  const trainer = await PipelineTrainer.create(model, {
    stages: 2,
    microbatches: 2,
    runner: 'in-process',
    optimizer: { name: 'sgd', learningRate: 0.5 },
    ...options,
  });
  try {
    const losses: number[] = [];
    if (stream) losses.push(...(await trainer.runBatches(data)));
    else for (const b of data) losses.push(await trainer.step(b));
    return { weights: await trainer.weights(), losses };
  } finally {
    await trainer.close();
  }
}

describe('pipelined training (PipeDream-2BW, Flush, GPipe)', () => {
  onFastWasm();

  it('2BW equals the sequential run with one-step-stale gradients, stepped or streamed', () =>
    withMlp(3, [8, 5], async (model, data) => {
      const ref = await reference(model, data, 1, 'sgd', 0.5);
      const plain = await reference(model, data, 0, 'sgd', 0.5);
      // The delay must matter, or the test could not tell 2BW from plain training.
      assert.ok(largestDiff(ref.weights, plain.weights) > 1e-2, 'the delay changed nothing');
      for (const stream of [false, true]) {
        const run = await pipelined(model, data, { schedule: '2bw' }, stream);
        assertNear(run, ref, `stream=${stream} against the reference`);
      }
    }));

  it('2BW with momentum and 3 microbatches of uneven size equals its delayed reference', () =>
    withMlp(5, [7, 4], async (model, data) => {
      const ref = await reference(model, data, 1, 'momentum', 0.3);
      const run = await pipelined(
        model,
        data,
        { microbatches: 3, optimizer: { name: 'momentum', learningRate: 0.3 } },
        true,
      );
      assertNear({ weights: run.weights }, ref, 'against the reference');
    }));

  it('Flush and GPipe equal plain training with gradient accumulation', () =>
    withMlp(7, [7, 4], async (model, data) => {
      const plain = await reference(model, data, 0, 'sgd', 0.5);
      for (const schedule of ['flush', 'gpipe'] as const) {
        const run = await pipelined(model, data, { schedule, microbatches: 3 }, true);
        assertNear({ weights: run.weights }, plain, `${schedule} against plain SGD`);
      }
    }));

  it('keeps at most two weight versions per stage and runs each backward on its forward version', () =>
    withMlp(3, [8, 4], async (model, data) => {
      const trainer = await PipelineTrainer.create(model, {
        stages: 2,
        microbatches: 2,
        runner: 'in-process',
        optimizer: { name: 'sgd', learningRate: 0.1 },
      });
      await trainer.runBatches(data);
      const report = trainer.lastRun;
      assert.ok(report);
      for (const [s, st] of report.stages.entries()) {
        assert.equal(st.maxVersions, 2, `stage ${s} held ${st.maxVersions} versions`);
        assert.ok(st.maxInFlight <= 2 - s, `stage ${s} held ${st.maxInFlight} microbatches`);
        assert.equal(st.versionLog.length, 8);
        for (const [mb, f, b] of st.versionLog) {
          assert.equal(f, b, `microbatch ${mb}: forward on ${f}, backward on ${b}`);
          assert.equal(f, Math.max(0, Math.floor(mb / 2) - 1));
        }
      }
      await trainer.close();
    }));

  it('leaks no tensors across steps, and none after close', () =>
    withMlp(3, [8, 3], async (model, data) => {
      const before = tf.memory().numTensors;
      const trainer = await PipelineTrainer.create(model, {
        stages: 2,
        microbatches: 2,
        runner: 'in-process',
        optimizer: { name: 'adam', learningRate: 0.01 },
      });
      await trainer.step(data[0]);
      await trainer.step(data[1]);
      const steady = tf.memory().numTensors;
      await trainer.step(data[2]);
      await trainer.runBatches(data);
      assert.equal(tf.memory().numTensors, steady, 'tensors grew across steps');
      await trainer.close();
      assert.equal(tf.memory().numTensors, before, 'tensors left after close');
    }));

  it('rejects bad stage splits and microbatch counts with clear errors', async () => {
    const model = mlp();
    const opt = { name: 'sgd' as const, learningRate: 0.1 };
    const make = (o: Partial<PipelineOptions>) =>
      PipelineTrainer.create(model, { optimizer: opt, runner: 'in-process', ...o });
    await assert.rejects(make({ stages: 4 }), /cannot cut 3 layers .* into 4 pipeline stages/);
    await assert.rejects(
      make({ stages: 2, cuts: [3] }),
      /cuts must be increasing integers in 1\.\.2/,
    );
    await assert.rejects(make({ stages: 3, cuts: [2, 1] }), /cuts must be increasing/);
    await assert.rejects(make({ stages: 3, cuts: [1] }), /3 stages need 2 cuts, got 1/);
    await assert.rejects(
      make({ stages: 3, microbatches: 1 }),
      /PipeDream-2BW with 3 stages needs at least 2 microbatches/,
    );
    await assert.rejects(make({ stages: 0 }), /stages must be an integer in 1\.\.16/);
    await assert.rejects(
      make({ schedule: 'zigzag' as never }),
      /schedule must be one of 2bw, flush, gpipe/,
    );
    const trainer = await make({ stages: 2, microbatches: 4 });
    const small = batchOf([6], 3, 1);
    await assert.rejects(trainer.step(small), /batch 0 has 3 rows, fewer than the 4 microbatches/);
    await trainer.close();
    await assert.rejects(trainer.step(small), /used after close/);
    tf.dispose([small.xs, small.ys]);
    model.dispose();
  });

  it('plans the cut from a profiled sample', async () => {
    const model = tinyCnn([4, 4], 8, 2);
    const sample = batchOf([8, 8, 1], 8, 2);
    const trainer = await PipelineTrainer.create(model, {
      stages: 2,
      microbatches: 2,
      runner: 'in-process',
      sample,
      optimizer: { name: 'sgd', learningRate: 0.1 },
    });
    assert.equal(trainer.ranges.length, 2);
    assert.equal(trainer.ranges[0].start, 0);
    assert.equal(trainer.ranges[0].end, trainer.ranges[1].start);
    assert.ok(trainer.ranges[1].start > 0);
    const loss = await trainer.step(sample);
    assert.ok(Number.isFinite(loss));
    await trainer.close();
    tf.dispose([sample.xs, sample.ys]);
    model.dispose();
  });

  it('2BW on two worker threads equals the delayed reference, without leaks', async () => {
    const model = tinyCnn([4, 4], 8, 4);
    const data = batches([8, 8, 1], 8, 4);
    const ref = await reference(model, data, 1, 'sgd', 0.2);
    const before = tf.memory().numTensors;
    const trainer = await PipelineTrainer.create(model, {
      stages: 2,
      microbatches: 2,
      optimizer: { name: 'sgd', learningRate: 0.2 },
    });
    try {
      const losses = [
        ...(await trainer.runBatches(data.slice(0, 2))),
        ...(await trainer.runBatches(data.slice(2))),
      ];
      const first = trainer.lastRun?.stages.map((s) => s.numTensors);
      assertNear({ weights: await trainer.weights(), losses }, ref, 'against the reference');
      for (const st of trainer.lastRun?.stages ?? []) assert.ok(st.maxVersions <= 2);
      await trainer.step(data[0]);
      assert.deepEqual(
        trainer.lastRun?.stages.map((s) => s.numTensors),
        first,
        'worker tensors grew across runs',
      );
      assert.equal(tf.memory().numTensors, before, 'tensors leaked in the main thread');
      await trainer.sync();
    } finally {
      await trainer.close();
    }
    disposeAll(data);
    model.dispose();
  });
});
