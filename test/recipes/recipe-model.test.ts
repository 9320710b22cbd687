import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { buildModel } from '../../src/models/zoo.js';
import { NO_RECIPE, recipeConfig, recipeModel } from '../../src/recipes/index.js';
import { tinyResnet } from '../tiny-models.js';

const resnet = () => tinyResnet([4], 3);
const classes = (m: tf.LayersModel) => m.layers.map((l) => l.getClassName());

describe('recipes: recipeModel', () => {
  it('without layer-changing parts returns the same model', () => {
    const m = resnet();
    const r = recipeModel(m, recipeConfig('none', { samRho: 0.05 }));
    assert.equal(r.model, m);
    assert.equal(r.rebuilt, false);
    assert.deepEqual(r.notes, []);
    m.dispose();
  });

  it('haet swaps every ReLU for CELU in a new model with the same function at small alpha', () => {
    const m = resnet();
    const before = tf.memory().numTensors;
    const r = recipeModel(m, { ...recipeConfig('haet'), celu: 1e-6 });
    assert.equal(r.rebuilt, true);
    assert.ok(!classes(r.model).includes('ReLU'));
    assert.equal(classes(r.model).filter((c) => c === 'FrugalCelu').length, 3);
    const x = tf.randomNormal([2, 8, 8, 1], 0, 1, 'float32', 4);
    const a = m.predict(x) as tf.Tensor;
    const b = r.model.predict(x) as tf.Tensor;
    assert.ok(tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]) < 1e-4);
    tf.dispose([x, a, b]);
    r.model.dispose();
    assert.ok(tf.memory().numTensors <= before, 'the copy leaves nothing behind');
    m.dispose();
  });

  it('a part that cannot apply is an error and leaves no intermediate copy behind', () => {
    const m = tf.sequential({
      layers: [tf.layers.reLU({ inputShape: [6, 6, 1] }), tf.layers.globalAveragePooling2d({})],
    });
    const before = tf.memory().numTensors;
    // CELU applies (a ReLU), then OPT finds no Dense or Conv2D layer: the CELU copy must be disposed.
    assert.throws(
      () => recipeModel(m, { ...NO_RECIPE, celu: 0.1, opt: 'cayley' }),
      /no Dense or Conv2D layer/,
    );
    assert.equal(tf.memory().numTensors, before);
    m.dispose();
    const mlp = buildModel('mlp', { inputShape: [4], numClasses: 2, hidden: [3], seed: 1 });
    const r = recipeModel(mlp, { ...NO_RECIPE, opt: 'stochastic' });
    assert.match(r.notes[0], /OPT stochastic/);
    assert.ok(r.hooks?.afterUpdate, 'the stochastic variant re-samples after updates');
    r.model.dispose();
    mlp.dispose();
  });

  it('the zoo resnet takes a batch-norm momentum and refuses one outside [0, 1)', () => {
    const m = buildModel('resnet', {
      inputShape: [8, 8, 1],
      numClasses: 3,
      widths: [4],
      batchNormMomentum: 0.9,
    });
    const bn = m.layers.find((l) => l.getClassName() === 'BatchNormalization') as tf.layers.Layer;
    assert.equal((bn.getConfig() as { momentum: number }).momentum, 0.9);
    m.dispose();
    assert.throws(
      () => buildModel('resnet', { inputShape: [8, 8, 1], numClasses: 3, batchNormMomentum: 1 }),
      /batchNormMomentum must be in \[0, 1\), got 1/,
    );
  });
});
