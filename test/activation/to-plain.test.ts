import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { compressActivations } from '../../src/activation/convert.js';
import { hasTrainingLayers, toPlainModel } from '../../src/activation/to-plain.js';
import { compress } from '../../src/compress/compress.js';
import { buildModel } from '../../src/models/zoo.js';
import { train } from '../../src/train/loop.js';
import { maxAbsDiff, useBackend } from '../helpers.js';
import { tinyData } from '../tiny-data.js';
import { tinyResnet, tinyTransformer } from '../tiny-models.js';

const quiet = { warn: () => {} };

function sameWeights(a: tf.LayersModel, b: tf.LayersModel): void {
  const wa = a.getWeights();
  const wb = b.getWeights();
  assert.equal(wa.length, wb.length);
  wa.forEach((w, i) => {
    assert.deepEqual(w.shape, wb[i].shape);
    assert.deepEqual(w.dataSync(), wb[i].dataSync(), `weight ${i}`);
  });
}

const classes = (m: tf.LayersModel) => m.layers.map((l) => l.getClassName());

describe('toPlainModel', () => {
  before(() => useBackend('cpu'));

  const zoo: [string, () => tf.LayersModel, number[]][] = [
    [
      'cnn',
      () => buildModel('cnn', { inputShape: [8, 8, 1], numClasses: 3, filters: [2, 3], dense: 4 }),
      [2, 8, 8, 1],
    ],
    ['resnet', () => tinyResnet([2, 4], 2), [2, 8, 8, 1]],
    ['transformer', () => tinyTransformer(3), [2, 4, 6]],
    [
      'depthwise, pooling, dropout, tanh',
      () => {
        const m = tf.sequential();
        m.add(tf.layers.depthwiseConv2d({ inputShape: [6, 6, 2], kernelSize: 3, padding: 'same' }));
        m.add(tf.layers.averagePooling2d({ poolSize: 2 }));
        m.add(tf.layers.activation({ activation: 'tanh' }));
        m.add(tf.layers.dropout({ rate: 0.3 }));
        m.add(tf.layers.layerNormalization({ epsilon: 1e-4 }));
        m.add(tf.layers.globalAveragePooling2d({}));
        return m;
      },
      [2, 6, 6, 2],
    ],
  ];
  for (const [name, build, shape] of zoo) {
    it(`${name}: compressed-activation layers go back to the original classes, weights and outputs`, async () => {
      const model = build();
      model.setWeights(
        model.weights.map((w, i) =>
          w.name.includes('variance')
            ? tf.randomUniform(w.shape as number[], 0.5, 1.5, 'float32', i)
            : tf.randomNormal(w.shape as number[], 0, 0.3, 'float32', i),
        ),
      );
      const frozen = model.layers.find((l) => l.weights.length > 0)!;
      frozen.trainable = false;
      const c = await compressActivations(model, { level: 'L3' }, quiet);
      assert.ok(hasTrainingLayers(c.model));
      const r = await toPlainModel(c.model);
      assert.ok(!hasTrainingLayers(r.model));
      assert.deepEqual(r.unrestored, []);
      assert.equal(r.restored.length, c.converted.length);
      assert.deepEqual(classes(r.model), classes(model));
      assert.equal(r.model.getLayer(frozen.name).trainable, false);
      sameWeights(r.model, model);
      const x = tf.randomNormal(shape, 0, 1, 'float32', 5);
      assert.equal(maxAbsDiff(r.model.predict(x) as tf.Tensor, model.predict(x) as tf.Tensor), 0);
      const topology = JSON.stringify(r.model.toJSON(null, false));
      assert.doesNotMatch(topology, /FrugalCompressed|FrugalNoSave/);
      r.model.dispose();
      c.model.dispose();
    });
  }
});

describe('compress on a model trained with compressed activations', () => {
  it('restores the plain layers first, so int8 packs them and FLOPs are counted', async () => {
    await useBackend('cpu');
    const data = tinyData([16], 64, 4, { testCount: 32 });
    const model = buildModel('mlp', { inputShape: [16], numClasses: 3, hidden: [16], seed: 1 });
    const c = await compressActivations(model, { level: 'L3' }, quiet);
    await train(c.model, data, {
      epochs: 1,
      batchSize: 16,
      learningRate: 1e-2,
      measureMemory: false,
    });
    const { model: small, report } = await compress(
      c.model,
      { version: 1, steps: [{ method: 'int8' }] },
      { data },
    );
    assert.deepEqual(
      small.layers.filter((l) => l.weights.length > 0).map((l) => l.getClassName()),
      ['FrugalPackedDense', 'FrugalPackedDense'],
    );
    assert.ok(report.before!.flops > 0 && report.after!.flops === report.before!.flops);
    assert.deepEqual(report.restoredLayers.sort(), c.converted.map((l) => l.name).sort());
    assert.ok(report.after!.outputSqnrDb! > 20, `${report.after!.outputSqnrDb}`);
    small.dispose();
    c.model.dispose();
  });
});
