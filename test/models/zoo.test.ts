import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { buildModel, ZOO_LAYOUT, ZOO_MODELS, type ZooModelName } from '../../src/models/zoo.js';
import { maxAbsDiff, useBackend } from '../helpers.js';

const shapes: Record<ZooModelName, number[]> = Object.fromEntries(
  ZOO_MODELS.map((m) => [m, ZOO_LAYOUT[m] === 'image' ? [28, 28, 1] : [28, 28]]),
) as Record<ZooModelName, number[]>;

describe('model zoo', () => {
  for (const name of ZOO_MODELS) {
    it(`${name}: forward gives [batch, classes] logits and is seeded`, async () => {
      await useBackend('wasm');
      const a = buildModel(name, { inputShape: shapes[name], numClasses: 10, seed: 7 });
      const b = buildModel(name, { inputShape: shapes[name], numClasses: 10, seed: 7 });
      const c = buildModel(name, { inputShape: shapes[name], numClasses: 10, seed: 8 });
      const x = tf.randomUniform([3, ...shapes[name]], 0, 1, 'float32', 1);
      const ya = a.predict(x) as tf.Tensor;
      assert.deepEqual(ya.shape, [3, 10]);
      assert.equal(maxAbsDiff(ya, b.predict(x) as tf.Tensor), 0);
      assert.ok(maxAbsDiff(ya, c.predict(x) as tf.Tensor) > 1e-4);
      tf.dispose([x]);
      for (const m of [a, b, c]) m.dispose();
    });
  }

  it('the decoder Transformer is causal: a later position does not change earlier outputs', async () => {
    await useBackend('cpu');
    const { MultiHeadSelfAttention } = await import('../../src/models/layers/attention.js');
    const layer = new MultiHeadSelfAttention({ numHeads: 2, causal: true, seed: 1 });
    const x = tf.randomNormal([1, 5, 8], 0, 1, 'float32', 3);
    const x2 = tf.concat(
      [x.slice([0, 0, 0], [1, 4, 8]), tf.onesLike(x.slice([0, 4, 0], [1, 1, 8]))],
      1,
    );
    const y = layer.apply(x) as tf.Tensor;
    const y2 = layer.apply(x2) as tf.Tensor;
    assert.ok(maxAbsDiff(y.slice([0, 0, 0], [1, 4, 8]), y2.slice([0, 0, 0], [1, 4, 8])) < 1e-5);
    assert.ok(maxAbsDiff(y.slice([0, 4, 0], [1, 1, 8]), y2.slice([0, 4, 0], [1, 1, 8])) > 1e-4);
  });

  it('rejects impossible configs with a message naming the field', () => {
    assert.throws(
      () => buildModel('mlp', { inputShape: [4], numClasses: 2, hidden: [0] }),
      /hidden\[0\] must be a positive integer/,
    );
    assert.throws(
      () => buildModel('cnn', { inputShape: [28, 28], numClasses: 2 }),
      /cnn needs image samples/,
    );
    assert.throws(
      () =>
        buildModel('transformer', { inputShape: [8, 4], numClasses: 2, dModel: 30, numHeads: 4 }),
      /not divisible/,
    );
    assert.throws(
      () => buildModel('nope' as ZooModelName, { inputShape: [1], numClasses: 2 } as never),
      /Unknown model 'nope'/,
    );
  });
});
