import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { classificationData } from '../../src/data/from-tensors.js';
import { syntheticClassification } from '../../src/data/synthetic.js';
import { buildModel } from '../../src/models/zoo.js';
import { type TrainCallbacks, train } from '../../src/train/loop.js';
import { useBackend } from '../helpers.js';

const data = syntheticClassification({ trainCount: 48, testCount: 16, numClasses: 3 });
const shape = data.sampleShape;
const cfg = { epochs: 2, batchSize: 16, learningRate: 0.01, seed: 5, measureMemory: false };
const mlp = () => buildModel('mlp', { inputShape: shape, numClasses: 3, hidden: [8], seed: 2 });

/** The data set as tensors: xs, labels and one-hot ys of both splits. */
function tensors() {
  const t = (s: typeof data.train) => ({
    xs: tf.tensor(s.x, [s.count, ...shape]),
    labels: tf.tensor1d(s.y, 'int32'),
    ys: tf.oneHot(tf.tensor1d(s.y, 'int32'), 3).toFloat(),
  });
  return { train: t(data.train), test: t(data.test) };
}

async function weightsAfter(d: Parameters<typeof train>[1], callbacks?: TrainCallbacks) {
  const m = mlp();
  const r = await train(m, d, cfg, { callbacks });
  const w = m.getWeights().map((x) => Array.from(x.dataSync()));
  m.dispose();
  return { r, w };
}

describe('train() on tensors and tf.data datasets, with tfjs-style callbacks', () => {
  before(() => useBackend('cpu'));

  it('tensors (labels or one-hot) and a dataset of batches train exactly as the same ClassificationData', async () => {
    const ref = await weightsAfter(data);
    const t = tensors();
    const before = tf.memory().numTensors;
    const fromLabels = await weightsAfter({
      xs: t.train.xs,
      ys: t.train.labels,
      test: { xs: t.test.xs, ys: t.test.labels },
    });
    const fromOneHot = await weightsAfter({
      xs: t.train.xs,
      ys: t.train.ys,
      test: { xs: t.test.xs, ys: t.test.ys },
    });
    const ds = (s: { xs: tf.Tensor; ys: tf.Tensor }) =>
      tf.data
        .zip({ xs: tf.data.array(tf.unstack(s.xs)), ys: tf.data.array(tf.unstack(s.ys)) })
        .batch(7);
    const trainDs = ds(t.train);
    const testDs = ds(t.test);
    const fromDataset = await weightsAfter({
      dataset: trainDs as tf.data.Dataset<tf.TensorContainer>,
      test: testDs as tf.data.Dataset<tf.TensorContainer>,
    });
    for (const got of [fromLabels, fromOneHot, fromDataset]) {
      assert.deepEqual(got.w, ref.w);
      assert.deepEqual(
        got.r.history.map((h) => [h.meanLoss, h.testAccuracy]),
        ref.r.history.map((h) => [h.meanLoss, h.testAccuracy]),
      );
    }
    // the caller's tensors are untouched and nothing else is left behind (the unstacked
    // elements held by the two datasets are the only new tensors)
    assert.equal(t.train.xs.isDisposed, false);
    assert.equal(tf.memory().numTensors, before + 2 * (48 + 16) * 1);
    tf.dispose([...Object.values(t.train), ...Object.values(t.test)]);
  });

  it('validationSplit holds out the last samples; bad tensors are refused with the problem named', () => {
    const t = tensors();
    const d = classificationData({ xs: t.train.xs, ys: t.train.labels }, { validationSplit: 0.25 });
    assert.equal(d.train.count, 36);
    assert.equal(d.test.count, 12);
    assert.deepEqual(Array.from(d.test.y), Array.from(data.train.y.slice(36)));
    assert.throws(
      () => classificationData({ xs: t.train.xs, ys: t.train.labels }),
      /without test data, validationSplit must be in \(0, 1\)/,
    );
    assert.throws(
      () => classificationData({ xs: t.train.xs, ys: t.test.labels }, { validationSplit: 0.5 }),
      /ys has 16 rows but xs has 48 samples/,
    );
    const frac = tf.tensor1d(Array.from({ length: 48 }, (_, i) => (i === 3 ? 1.5 : 0)));
    assert.throws(
      () => classificationData({ xs: t.train.xs, ys: frac }, { validationSplit: 0.5 }),
      /label 3 is 1.5, not a class index/,
    );
    const nan = t.train.xs.clone().reshape([48, -1]).mul(tf.scalar(Number.NaN));
    assert.throws(
      () => classificationData({ xs: nan, ys: t.train.labels }, { validationSplit: 0.5 }),
      /non-finite value \(NaN\) at index 0/,
    );
    assert.throws(
      () =>
        classificationData(
          { xs: t.train.xs, ys: t.train.labels },
          { validationSplit: 0.5, numClasses: 2 },
        ),
      /label 2 is not below numClasses 2/,
    );
    tf.dispose([...Object.values(t.train), ...Object.values(t.test), frac, nan]);
  });

  it('refuses unbatched and empty datasets', async () => {
    const m = mlp();
    const unbatched = tf.data.array([{ xs: tf.zeros(shape), ys: tf.scalar(1) }]);
    await assert.rejects(
      train(
        m,
        { dataset: unbatched as tf.data.Dataset<tf.TensorContainer>, validationSplit: 0.5 },
        cfg,
      ),
      /elements must be batches .*use \.batch\(n\)/,
    );
    const empty = tf.data.array([] as tf.TensorContainer[]);
    await assert.rejects(
      train(m, { dataset: empty, validationSplit: 0.5 }, cfg),
      /the dataset is empty/,
    );
    m.dispose();
  });

  it('calls the callbacks in order with the logs of the result, awaits them, and stops on model.stopTraining', async () => {
    const calls: string[] = [];
    const epochLogs: number[][] = [];
    const cb: TrainCallbacks = {
      onTrainBegin: () => void calls.push('train-begin'),
      onEpochBegin: (e) => void calls.push(`epoch-begin ${e}`),
      onBatchBegin: (b) => void calls.push(`batch-begin ${b}`),
      onBatchEnd: async (b, logs) => {
        await new Promise((r) => setTimeout(r, 1));
        calls.push(`batch-end ${b} ${logs.size}`);
      },
      onEpochEnd: (e, logs) => {
        epochLogs.push([logs.loss, logs.val_acc]);
        calls.push(`epoch-end ${e}`);
      },
      onTrainEnd: () => void calls.push('train-end'),
    };
    const { r } = await weightsAfter(data, cb);
    const batches = (e: number) =>
      [0, 1, 2].flatMap((b) => [`batch-begin ${b}`, `batch-end ${b} 16`]).concat(`epoch-end ${e}`);
    assert.deepEqual(calls, [
      'train-begin',
      'epoch-begin 0',
      ...batches(0),
      'epoch-begin 1',
      ...batches(1),
      'train-end',
    ]);
    assert.deepEqual(
      epochLogs,
      r.history.map((h) => [h.meanLoss, h.testAccuracy]),
    );

    const m = mlp();
    m.compile({ optimizer: 'sgd', loss: 'meanSquaredError' }); // a Sequential's stopTraining needs it
    let seen = 0;
    const stop: TrainCallbacks = {
      onBatchEnd: () => {
        seen++;
        if (seen === 2) (m as unknown as { stopTraining: boolean }).stopTraining = true;
      },
    };
    const early = await train(m, data, cfg, { callbacks: [stop] });
    assert.equal(early.steps, 2);
    assert.equal(early.history.length, 1, 'the epoch in progress is evaluated, then training ends');
    m.dispose();
  });
});
