import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import type { Batch } from '../../src/data/dataset.js';
import { buildModel } from '../../src/models/zoo.js';
import { train } from '../../src/train/loop.js';
import { ParallelTrainer, splitBatch, trainParallel } from '../../src/train/parallel/index.js';
import { ownedRanges } from '../../src/train/parallel/owned-ranges.js';
import { trainStep } from '../../src/train/step.js';
import { onFastWasm } from '../fast-wasm-suite.js';
import { maxAbsDiff, normalBatch, useBackend, weightsOf } from '../helpers.js';
import { tinyData } from '../tiny-data.js';

const randomBatch = (shape: number[], rows: number, classes: number, seed: number): Batch =>
  normalBatch(shape, rows, classes, seed, (i) => (i * 7 + seed) % classes);

function largest(values: Float32Array[]): number {
  let m = 0;
  for (const v of values) for (const x of v) m = Math.max(m, Math.abs(x));
  return m;
}

function minus(a: Float32Array[], b: Float32Array[]): Float32Array[] {
  return a.map((v, i) => v.map((x, k) => x - b[i][k]));
}

function assertIdentical(a: Float32Array[], b: Float32Array[], what: string): void {
  assert.equal(a.length, b.length);
  for (let i = 0; i < a.length; i++)
    assert.equal(maxAbsDiff(a[i], b[i]), 0, `${what} differ at weight ${i}`);
}

/**
 * One SGD step with learning rate 1 moves the weights by minus the gradient: the parallel step's
 * move must equal the single-thread move on the full batch.
 */
async function checkGradientOfOneStep(
  model: tf.LayersModel,
  reference: tf.LayersModel,
  batch: Batch,
  workers = 2,
) {
  const start = weightsOf(reference);
  assert.equal(
    maxAbsDiff(
      start.flatMap((v) => [...v]),
      weightsOf(model).flatMap((v) => [...v]),
    ),
    0,
  );
  const sgd = tf.train.sgd(1);
  const refLoss = trainStep({ model: reference, optimizer: sgd }, batch);
  sgd.dispose();
  const refGrad = minus(start, weightsOf(reference));
  const trainer = await ParallelTrainer.create(model, {
    workers,
    optimizer: { name: 'sgd', learningRate: 1 },
  });
  try {
    const before = tf.memory().numTensors;
    const loss = await trainer.step(batch);
    assert.equal(tf.memory().numTensors, before, 'tensors leaked in the main thread');
    assert.ok(Math.abs(loss - refLoss) < 1e-5 * Math.max(1, refLoss), `loss ${loss} vs ${refLoss}`);
    const w0 = await trainer.replicaWeights(0);
    const parGrad = minus(start, w0);
    const scale = largest(refGrad);
    assert.ok(scale > 1e-3, `the step barely moved the weights (${scale})`);
    refGrad.forEach((g, i) => {
      const d = maxAbsDiff(g, parGrad[i]);
      assert.ok(d <= 1e-5 * scale, `weight ${i}: gradient differs by ${d} (largest ${scale})`);
    });
    for (let i = 1; i < workers; i++)
      assertIdentical(w0, await trainer.replicaWeights(i), `replicas 0 and ${i}`);
    await trainer.sync();
    assertIdentical(weightsOf(model), w0, 'main model and replica 0');
  } finally {
    await trainer.close();
  }
}

describe('data-parallel training on worker threads', () => {
  onFastWasm();

  it('splits a batch into contiguous shards that differ by at most one row', () => {
    assert.deepEqual(splitBatch(7, 2), [
      { start: 0, size: 4 },
      { start: 4, size: 3 },
    ]);
    assert.deepEqual(
      splitBatch(2, 3).map((s) => s.size),
      [1, 1, 0],
    );
    assert.throws(() => splitBatch(4, 0), /parts must be a positive integer/);
  });

  it('gives every element of every weight to exactly one replica', () => {
    const sizes = [10, 3, 1, 0, 7];
    for (const parties of [1, 2, 3, 4]) {
      const owners = sizes.map((n) => new Int32Array(n));
      for (let r = 0; r < parties; r++) {
        ownedRanges(sizes, parties, r).forEach(({ start, end }, j) => {
          for (let k = start; k < end; k++) owners[j][k]++;
        });
      }
      for (const o of owners)
        assert.ok(
          o.every((c) => c === 1),
          `parties ${parties}`,
        );
    }
    assert.throws(() => ownedRanges([4], 2, 2), /replica 2 of 2 does not exist/);
  });

  it('MLP: three Adam steps on 2 workers (sharded optimizer) follow three single-thread steps', async () => {
    const cfg = { inputShape: [6], numClasses: 3, hidden: [8], seed: 8 };
    const batches = [1, 2, 3].map((seed) => randomBatch([6], 10, 3, seed));
    const reference = buildModel('mlp', cfg);
    const adam = tf.train.adam(0.01);
    for (const b of batches) trainStep({ model: reference, optimizer: adam }, b);
    adam.dispose();
    const model = buildModel('mlp', cfg);
    const start = weightsOf(model);
    const trainer = await ParallelTrainer.create(model, {
      workers: 2,
      optimizer: { name: 'adam', learningRate: 0.01 },
    });
    try {
      for (const b of batches) await trainer.step(b);
      await trainer.sync();
    } finally {
      await trainer.close();
    }
    const moved = largest(minus(start, weightsOf(reference)));
    const diff = Math.max(
      ...weightsOf(model).map((v, i) => maxAbsDiff(v, weightsOf(reference)[i])),
    );
    assert.ok(moved > 0.02, `the reference barely moved (${moved})`);
    assert.ok(diff < 1e-5, `weights differ by ${diff}`);
    tf.dispose(batches.flatMap((b) => [b.xs, b.ys]));
  });

  it('MLP: the 2-worker gradient of an odd batch equals the full-batch gradient', async () => {
    const cfg = { inputShape: [6], numClasses: 3, hidden: [8], seed: 3 };
    const batch = randomBatch([6], 7, 3, 1);
    await checkGradientOfOneStep(buildModel('mlp', cfg), buildModel('mlp', cfg), batch);
    tf.dispose([batch.xs, batch.ys]);
  });

  it('MLP: 3 workers on a 2-row batch (one shard empty) give the full-batch gradient', async () => {
    const cfg = { inputShape: [6], numClasses: 3, hidden: [8], seed: 5 };
    const batch = randomBatch([6], 2, 3, 4);
    await checkGradientOfOneStep(buildModel('mlp', cfg), buildModel('mlp', cfg), batch, 3);
    tf.dispose([batch.xs, batch.ys]);
  });

  it("a softmax-output MLP: the workers' gradient is its logits twin's (loss 'auto')", async () => {
    const mlp = (activation: 'softmax' | 'linear') => {
      const init = (seed: number) => tf.initializers.glorotUniform({ seed });
      const m = tf.sequential();
      m.add(
        tf.layers.dense({
          inputShape: [6],
          units: 8,
          activation: 'relu',
          kernelInitializer: init(1),
        }),
      );
      m.add(tf.layers.dense({ units: 3, activation, kernelInitializer: init(2) }));
      return m;
    };
    const batch = randomBatch([6], 7, 3, 2);
    await checkGradientOfOneStep(mlp('softmax'), mlp('linear'), batch);
    tf.dispose([batch.xs, batch.ys]);
  });

  it('CNN: the 2-worker gradient equals the full-batch gradient', async () => {
    const cfg = {
      inputShape: [6, 6, 1],
      numClasses: 3,
      filters: [3, 4] as [number, number],
      dense: 5,
      seed: 4,
    };
    const batch = randomBatch([6, 6, 1], 6, 3, 2);
    await checkGradientOfOneStep(buildModel('cnn', cfg), buildModel('cnn', cfg), batch);
    tf.dispose([batch.xs, batch.ys]);
  });

  it("BatchNorm: moving statistics become the shard-weighted mean of the shards' updates", async () => {
    const model = tf.sequential();
    const seed = (n: number) => tf.initializers.glorotUniform({ seed: n });
    model.add(tf.layers.dense({ inputShape: [5], units: 4, kernelInitializer: seed(5) }));
    model.add(tf.layers.batchNormalization({ momentum: 0.5 }));
    model.add(tf.layers.dense({ units: 3, kernelInitializer: seed(6) }));
    const batch = randomBatch([5], 7, 3, 3);
    const names = model.weights.map((w) => w.name);
    const stateIndex = model.nonTrainableWeights.map((w) => names.indexOf(w.name));
    const start = weightsOf(model);
    const restore = () => {
      const ts = start.map((v, i) => tf.tensor(v, model.weights[i].read().shape));
      model.setWeights(ts);
      tf.dispose(ts);
    };
    // What each shard (rows 0-3 and 4-6, as splitBatch(7, 2) cuts them) alone does to the moving
    // statistics, on this thread.
    const shardState = [
      [0, 4],
      [4, 3],
    ].map(([from, rows]) => {
      tf.tidy(() => {
        model.apply(batch.xs.slice(from, rows), { training: true });
      });
      const s = stateIndex.map((i) => weightsOf(model)[i]);
      restore();
      return s;
    });
    const trainer = await ParallelTrainer.create(model, {
      workers: 2,
      optimizer: { name: 'adam', learningRate: 0.01 },
    });
    try {
      await trainer.step(batch);
      const after1 = await trainer.replicaWeights(1);
      stateIndex.forEach((w, j) => {
        const expected = shardState[0][j].map((x, k) => (4 * x + 3 * shardState[1][j][k]) / 7);
        assert.ok(maxAbsDiff(expected, start[w]) > 1e-3, 'the step did not move the statistics');
        assert.ok(maxAbsDiff(after1[w], expected) < 1e-6, `moving statistic ${names[w]}`);
      });
      await trainer.step(batch);
      await trainer.step(batch);
      assertIdentical(await trainer.replicaWeights(0), await trainer.replicaWeights(1), 'replicas');
    } finally {
      await trainer.close();
    }
    tf.dispose([batch.xs, batch.ys]);
  });

  it('reports a failing worker as an error, releases the other, and refuses use after close', async () => {
    const model = buildModel('mlp', { inputShape: [6], numClasses: 3, hidden: [4], seed: 1 });
    const trainer = await ParallelTrainer.create(model, {
      workers: 2,
      optimizer: { name: 'sgd', learningRate: 0.1 },
    });
    // One row of the wrong width: worker 0 fails in its forward pass while worker 1, whose shard
    // is empty, already waits at the gradient exchange.
    const bad = randomBatch([5], 1, 3, 1);
    try {
      await assert.rejects(trainer.step(bad), /parallel worker 0/);
      await assert.rejects(trainer.step(bad), /parallel worker 0/);
    } finally {
      await trainer.close();
      tf.dispose([bad.xs, bad.ys]);
    }
    await trainer.close();
    await assert.rejects(trainer.sync(), /used after close/);
    await assert.rejects(
      ParallelTrainer.create(model, { workers: 0, optimizer: { name: 'sgd', learningRate: 1 } }),
      /workers must be an integer/,
    );
    await assert.rejects(
      ParallelTrainer.create(model, { optimizer: { name: 'sgd', learningRate: Number.NaN } }),
      /optimizer.learningRate must be a positive number, got null/,
    );
  });

  it('trainParallel on cpu (Transformer, custom layers) follows single-thread train()', async () => {
    await useBackend('cpu');
    const data = tinyData([4, 5], 60, 2, { testCount: 30 });
    const cfg = {
      inputShape: [4, 5],
      numClasses: 3,
      dModel: 8,
      numHeads: 2,
      numBlocks: 1,
      seed: 7,
    };
    const config = {
      epochs: 2,
      batchSize: 16,
      learningRate: 0.1,
      optimizer: 'sgd' as const,
      seed: 3,
      measureMemory: false,
    };
    const single = buildModel('transformer', cfg);
    const ref = await train(single, data, config);
    const model = buildModel('transformer', cfg);
    const before = tf.memory().numTensors;
    const par = await trainParallel(model, data, config, { workers: 2 });
    assert.equal(tf.memory().numTensors, before, 'tensors leaked in the main thread');
    assert.equal(par.steps, ref.steps);
    ref.history.forEach((h, i) => {
      const d = Math.abs(h.meanLoss - par.history[i].meanLoss);
      assert.ok(d < 1e-4, `epoch ${i + 1}: mean loss ${par.history[i].meanLoss} vs ${h.meanLoss}`);
      assert.equal(par.history[i].testAccuracy, h.testAccuracy);
    });
    assert.ok(ref.history[1].meanLoss < ref.history[0].meanLoss, 'the reference did not learn');
    const diff = Math.max(...weightsOf(model).map((v, i) => maxAbsDiff(v, weightsOf(single)[i])));
    assert.ok(diff < 1e-5, `weights differ by ${diff}`);
    single.dispose();
    model.dispose();
  });
});
