import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { freeSummedGrads, recordInputGrads } from '../../src/activation/backward/fan-in-grads.js';
import { CompressedActivation, NoSaveAdd } from '../../src/activation/layers/index.js';
import { BACKENDS, maxAbsDiff, useBackend } from '../helpers.js';

for (const backend of BACKENDS) {
  describe(`fan-in gradients (${backend})`, () => {
    before(() => useBackend(backend));

    it('frees the contributions the tape summed and kept aside, not the sum', () => {
      const x = tf.zeros([2]);
      const [g1, g2, g3] = [tf.ones([2]), tf.ones([2]), tf.ones([2])];
      for (const g of [g1, g2, g3]) recordInputGrads([x], [g], [false]);
      // What tfjs's tape does: sum = add(sum, dx), freeing the old sum only.
      const s12 = tf.add(g1, g2);
      g1.dispose();
      const sum = tf.add(s12, g3);
      s12.dispose();
      freeSummedGrads(x.id, sum);
      assert.ok(g2.isDisposed && g3.isDisposed);
      assert.ok(!sum.isDisposed);
      tf.dispose([x, sum]);
    });

    it('keeps a single contribution: the tape hands it on as dy', () => {
      const x = tf.zeros([2]);
      const g = tf.ones([2]);
      recordInputGrads([x], [g], [false]);
      freeSummedGrads(x.id, g);
      assert.ok(!g.isDisposed);
      tf.dispose([x, g]);
    });

    it('a tensor read by two compressed ops gets the exact summed gradient, no leak', () => {
      const relu = (name: string) =>
        new CompressedActivation({ activation: 'relu', actBits: 2, name });
      const [a, b, c] = [relu('a'), relu('b'), relu('c')];
      const add = new NoSaveAdd({ name: 'add' });
      const x = tf.randomNormal([3, 5], 0, 1, 'float32', 1);
      const w = tf.randomNormal([3, 5], 0, 1, 'float32', 2);
      const f = (t: tf.Tensor) => {
        const y = a.apply(t, { training: true }) as tf.Tensor;
        const z = add.apply([
          b.apply(y, { training: true }),
          c.apply(tf.neg(y), { training: true }),
        ] as tf.Tensor[]) as tf.Tensor;
        return tf.sum(tf.mul(z, w));
      };
      const want = tf.grad((t: tf.Tensor) => {
        const y = tf.relu(t);
        return tf.sum(tf.mul(tf.add(tf.relu(y), tf.relu(tf.neg(y))), w));
      })(x);
      tf.grad(f)(x).dispose(); // builds the layers
      const before = tf.memory().numTensors;
      const got = tf.grad(f)(x);
      assert.equal(tf.memory().numTensors, before + 1);
      assert.equal(maxAbsDiff(got, want), 0);
      tf.dispose([got, want]);
      tf.dispose([x, w]);
    });
  });
}
