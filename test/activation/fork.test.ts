import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { fork } from '../../src/activation/execution/fork.js';
import { CompressedActivation } from '../../src/activation/layers/compressed-activation.js';
import { CompressedConv2D } from '../../src/activation/layers/compressed-conv2d.js';
import { NoSaveAdd } from '../../src/activation/layers/shape-only.js';
import { BACKENDS, maxAbsDiff, useBackend } from '../helpers.js';

for (const backend of BACKENDS) {
  describe(`fork (${backend})`, () => {
    before(() => useBackend(backend));

    it('gives views of x whose gradients are summed, with no leak', () => {
      const x = tf.randomNormal([4, 3], 0, 1, 'float32', 1);
      const [a, b, c] = [2, 3, 5].map((s) => tf.randomNormal([4, 3], 0, 1, 'float32', s));
      const f = (t: tf.Tensor) => {
        const y = tf.mul(t, 1.5);
        const [p, q, r] = fork(y, 3);
        y.dispose();
        return tf.sum(tf.addN([tf.mul(p, a), tf.mul(tf.square(q), b), tf.mul(r, c)]));
      };
      const want = tf.grad((t: tf.Tensor) => {
        const y = tf.mul(t, 1.5);
        return tf.sum(tf.addN([tf.mul(y, a), tf.mul(tf.square(y), b), tf.mul(y, c)]));
      })(x);
      const before = tf.memory().numTensors;
      const got = tf.grad(f)(x);
      assert.equal(tf.memory().numTensors, before + 1);
      assert.ok(maxAbsDiff(got, want) < 1e-5);
      assert.throws(() => fork(x, 0), /positive integer/);
      tf.dispose([x, a, b, c, want, got]);
    });

    it('a residual block whose input is forked (conv adds its dx into the shortcut gradient) gets the plain gradients', () => {
      const conv = new CompressedConv2D({
        filters: 2,
        kernelSize: 3,
        padding: 'same',
        useBias: false,
        actBits: 32,
        name: 'fc',
      });
      const relu = new CompressedActivation({ activation: 'relu', actBits: 2, name: 'fr' });
      const add = new NoSaveAdd({ name: 'fa' });
      const x = tf.randomNormal([3, 4, 4, 2], 0, 1, 'float32', 6);
      const r = tf.randomNormal([3, 4, 4, 2], 0, 1, 'float32', 7);
      const block = (t: tf.Tensor, split: boolean) => {
        const y = tf.mul(t, 1);
        const [u, v] = split ? fork(y, 2) : [y, y];
        const z = relu.apply(conv.apply(u, { training: true }), { training: true }) as tf.Tensor;
        return tf.sum(tf.mul(add.apply([z, v]) as tf.Tensor, r));
      };
      tf.tidy(() => block(x, false)); // builds the layer
      const w = conv.trainableWeights[0].read() as tf.Variable;
      const run = (split: boolean) => {
        const { value, grads } = tf.variableGrads(() => block(x, split) as tf.Scalar, [w]);
        value.dispose();
        return [tf.grad((t: tf.Tensor) => block(t, split))(x), grads[w.name]];
      };
      const plain = run(false);
      const before = tf.memory().numTensors;
      const forked = run(true);
      assert.equal(tf.memory().numTensors, before + 2);
      plain.forEach((t, i) => {
        assert.ok(maxAbsDiff(t, forked[i]) < 1e-5, `gradient ${i}`);
      });
      tf.dispose([...plain, ...forked, x, r]);
    });
  });
}
