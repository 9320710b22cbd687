import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { EmaRangeObserver } from '../../src/lowprec/index.js';
import { useBackend } from '../helpers.js';

describe('EMA activation observer', () => {
  it('tracks ranges by EMA, freezes, and fake-quantizes with the STE', async () => {
    await useBackend('cpu');
    const obs = new EmaRangeObserver(4, 'affine', 0.5);
    const a = tf.tensor1d([0, 1, 2]);
    const b = tf.tensor1d([-2, 0, 4]);
    tf.dispose(obs.apply(a, true));
    assert.deepEqual([obs.lo, obs.hi], [0, 2]);
    tf.dispose(obs.apply(b, true));
    assert.deepEqual([obs.lo, obs.hi], [-1, 3]);
    obs.frozen = true;
    const before = tf.memory().numTensors;
    const { value, grad } = tf.valueAndGrad((t: tf.Tensor) => tf.sum(obs.apply(t, true)))(b);
    assert.deepEqual([obs.lo, obs.hi], [-1, 3], 'frozen: no update');
    // 16 levels over [-1, 3]: -2 is clipped to -1 (gradient 0), 0 and 4 -> 0 and 3.
    const y = obs.apply(b, false).dataSync();
    assert.ok(Math.abs(y[0] + 1) < 1e-5 && Math.abs(y[1]) < 0.14 && Math.abs(y[2] - 3) < 1e-5);
    assert.deepEqual(Array.from(grad.dataSync()), [0, 1, 0]);
    tf.dispose([value, grad]);
    assert.ok(tf.memory().numTensors - before <= 1); // the eval output above
    assert.throws(() => new EmaRangeObserver(9), /activations.bits/);
    assert.throws(() => new EmaRangeObserver(4).apply(a, false), /no range/);
  });
});
