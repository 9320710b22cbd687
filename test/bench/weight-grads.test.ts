import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { weightGrads } from '../../bench/lib/weight-grads.js';
import { maxAbsDiff, useBackend } from '../helpers.js';
import { seededMlp } from '../tiny-models.js';

describe('bench/lib weightGrads', () => {
  it('gives the cross-entropy gradient of each kept weight by name; leaks nothing', async () => {
    await useBackend('cpu');
    const model = seededMlp(4, [
      [5, 'h'],
      [3, 'out'],
    ]);
    const x = tf.randomNormal([6, 4], 0, 1, 'float32', 1);
    const y = tf.oneHot(tf.tensor1d([0, 1, 2, 0, 1, 2], 'int32'), 3);
    const before = tf.memory().numTensors;
    const all = weightGrads(model, x, y);
    const kernels = weightGrads(model, x, y, (w) => w.originalName.endsWith('kernel'));
    assert.equal(tf.memory().numTensors, before);
    assert.deepEqual([...all.keys()], ['h/kernel', 'h/bias', 'out/kernel', 'out/bias']);
    assert.deepEqual([...kernels.keys()], ['h/kernel', 'out/kernel']);
    // The plain reference: d/dW of the mean softmax cross-entropy of model(x), W by W.
    const [wh, bh, wo, bo] = model.trainableWeights.map((w) => w.read());
    const ref = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor, d: tf.Tensor) =>
      tf.losses.softmaxCrossEntropy(y, tf.relu(x.matMul(a).add(b)).matMul(c).add(d)),
    )([wh, bh, wo, bo]);
    ['h/kernel', 'h/bias', 'out/kernel', 'out/bias'].forEach((name, i) => {
      const g = all.get(name) as Float32Array;
      assert.ok(maxAbsDiff(g, ref[i]) < 1e-6, name);
    });
    assert.deepEqual(kernels.get('out/kernel'), all.get('out/kernel'));
    tf.dispose([x, y, ...ref]);
    model.dispose();
  });
});
