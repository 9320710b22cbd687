import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { buildMlp } from '../../src/models/mlp.js';
import { FrugalAdam } from '../../src/train/frugal-adam.js';
import { trainStepMeasured } from '../../src/train/step.js';
import { BACKENDS, maxAbsDiff, useBackend } from '../helpers.js';

function batch(n: number) {
  const xs = tf.randomNormal([n, 6, 6, 1], 0, 1, 'float32', 5);
  const ys = tf
    .oneHot(
      tf.tensor1d(
        [...Array(n).keys()].map((i) => i % 3),
        'int32',
      ),
      3,
    )
    .toFloat() as tf.Tensor2D;
  return { xs, ys, labels: new Int32Array(n), size: n };
}

describe('FrugalAdam', () => {
  for (const backend of BACKENDS) {
    it(`takes the same steps as tf.train.adam (${backend})`, async () => {
      await useBackend(backend);
      const b = batch(8);
      const run = async (optimizer: tf.Optimizer) => {
        const model = buildMlp({ inputShape: [6, 6, 1], numClasses: 3, hidden: [16, 8], seed: 2 });
        for (let i = 0; i < 5; i++) await trainStepMeasured({ model, optimizer }, b);
        const w = model.getWeights().map((t) => t.clone());
        model.dispose();
        optimizer.dispose();
        return w;
      };
      const stock = await run(tf.train.adam(0.01));
      const frugal = await run(new FrugalAdam(0.01));
      for (const [i, w] of stock.entries())
        assert.ok(maxAbsDiff(w, frugal[i]) < 1e-6, `weight ${i}`);
      tf.dispose([...stock, ...frugal, b.xs, b.ys]);
    });
  }

  it('lowers the step peak: update temporaries live for one variable at a time', async () => {
    await useBackend('cpu');
    const b = batch(4);
    const peak = async (optimizer: tf.Optimizer) => {
      const model = buildMlp({
        inputShape: [6, 6, 1],
        numClasses: 3,
        hidden: [256, 256, 256],
        seed: 2,
      });
      await trainStepMeasured({ model, optimizer }, b);
      const { memory } = await trainStepMeasured({ model, optimizer }, b);
      model.dispose();
      optimizer.dispose();
      return memory;
    };
    const stock = await peak(tf.train.adam(0.01));
    const frugal = await peak(new FrugalAdam(0.01));
    assert.equal(frugal.optimizerBytes, stock.optimizerBytes);
    // Three 256x256 kernels dominate; tfjs's Adam holds several temporaries of each at once.
    assert.ok(
      stock.peakBytes - frugal.peakBytes > 2 * frugal.weightBytes,
      `stock ${stock.peakBytes}, frugal ${frugal.peakBytes}, weights ${frugal.weightBytes}`,
    );
    tf.dispose([b.xs, b.ys]);
  });

  it('restores its state with setWeights and continues identically', async () => {
    await useBackend('cpu');
    const b = batch(8);
    const model = buildMlp({ inputShape: [6, 6, 1], numClasses: 3, hidden: [8], seed: 3 });
    const a = new FrugalAdam(0.01);
    for (let i = 0; i < 3; i++) await trainStepMeasured({ model, optimizer: a }, b);
    const saved = (await a.getWeights()).map((w) => ({ name: w.name, tensor: w.tensor.clone() }));
    const weights = model.getWeights().map((t) => t.clone());
    await trainStepMeasured({ model, optimizer: a }, b);
    const next = model.getWeights().map((t) => t.clone());
    model.setWeights(weights);
    const restored = new FrugalAdam(0.01);
    await restored.setWeights(saved);
    await trainStepMeasured({ model, optimizer: restored }, b);
    for (const [i, w] of next.entries()) assert.ok(maxAbsDiff(w, model.getWeights()[i]) < 1e-7);
    const config = JSON.parse(JSON.stringify(a.getConfig()));
    assert.equal(config.learningRate, 0.01);
  });
});
