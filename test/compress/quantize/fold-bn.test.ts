import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { foldBatchNorm } from '../../../src/compress/quantize/fold-bn.js';
import { maxAbsDiff, useBackend } from '../../helpers.js';
import { tinyResnet } from '../../tiny-models.js';

async function randomizeBatchNorm(model: tf.LayersModel): Promise<void> {
  let seed = 10;
  for (const l of model.layers) {
    if (l.getClassName() !== 'BatchNormalization') continue;
    const [g, b, m, v] = l.getWeights();
    l.setWeights([
      tf.randomUniform(g.shape, 0.5, 1.5, 'float32', seed++),
      tf.randomNormal(b.shape, 0, 0.2, 'float32', seed++),
      tf.randomNormal(m.shape, 0, 0.3, 'float32', seed++),
      tf.randomUniform(v.shape, 0.2, 2, 'float32', seed++),
    ]);
  }
}

describe('batch-norm folding', () => {
  it('folds every conv-bn of the ResNet; outputs equal the unfolded model', async () => {
    await useBackend('cpu');
    const model = tinyResnet([4, 8], 2);
    await randomizeBatchNorm(model);
    const { model: folded, folded: pairs } = await foldBatchNorm(model);
    assert.equal(pairs.length, 6);
    assert.equal(folded.layers.filter((l) => l.getClassName() === 'BatchNormalization').length, 0);
    const x = tf.randomNormal([3, 8, 8, 1], 0, 1, 'float32', 1);
    const a = model.predict(x) as tf.Tensor;
    const b = folded.predict(x) as tf.Tensor;
    assert.ok(
      maxAbsDiff(a, b) < 1e-4 * (1 + tf.abs(a).max().dataSync()[0]),
      `diff ${maxAbsDiff(a, b)}`,
    );
    assert.ok(folded.countParams() < model.countParams());
  });
  it('folds a Sequential dense -> bn and leaves relu-activated producers alone', async () => {
    await useBackend('cpu');
    const m = tf.sequential();
    m.add(tf.layers.dense({ inputShape: [5], units: 4, name: 'd1' }));
    m.add(tf.layers.batchNormalization({ name: 'bn1' }));
    m.add(tf.layers.dense({ units: 4, activation: 'relu', name: 'd2' }));
    m.add(tf.layers.batchNormalization({ name: 'bn2' }));
    await randomizeBatchNorm(m);
    const { model: folded, folded: pairs } = await foldBatchNorm(m);
    assert.deepEqual(pairs, [{ producer: 'd1', batchNorm: 'bn1' }]);
    const x = tf.randomNormal([4, 5], 0, 1, 'float32', 3);
    assert.ok(maxAbsDiff(m.predict(x) as tf.Tensor, folded.predict(x) as tf.Tensor) < 1e-5);
  });
});
