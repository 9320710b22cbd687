import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { compressActivations } from '../../src/activation/convert.js';
import { NoSaveAvgPool2D } from '../../src/activation/layers/no-save-avg-pool.js';
import { BACKENDS, maxAbsDiff, saveAndLoad, useBackend } from '../helpers.js';

type Pool = { poolSize: [number, number]; strides: [number, number]; padding: 'valid' | 'same' };

/** d sum(pool(x) * r) / dx through the layer in training mode. */
function layerGrad(layer: tf.layers.Layer, x: tf.Tensor, r: tf.Tensor): tf.Tensor {
  return tf.grad((xx: tf.Tensor) =>
    tf.sum(tf.mul(layer.apply(xx, { training: true }) as tf.Tensor, r)),
  )(x);
}

/**
 * The same gradient from the forward alone: average pooling is linear, so
 * f(x + e_j) - f(x) is exactly df/dx_j (up to float rounding).
 */
function linearGrad(p: Pool, x: tf.Tensor4D, r: tf.Tensor): Float32Array {
  const f = (v: tf.Tensor4D) =>
    tf.tidy(() => tf.sum(tf.mul(tf.avgPool(v, p.poolSize, p.strides, p.padding), r)).dataSync()[0]);
  const base = f(x);
  const out = new Float32Array(x.size);
  const xv = x.dataSync();
  for (let j = 0; j < x.size; j++) {
    const e = xv.slice();
    e[j] += 1;
    out[j] = tf.tidy(() => f(tf.tensor4d(e, x.shape))) - base;
  }
  return out;
}

const CASES: Pool[] = [
  { poolSize: [2, 2], strides: [2, 2], padding: 'valid' },
  { poolSize: [3, 2], strides: [1, 2], padding: 'valid' },
  { poolSize: [2, 2], strides: [2, 2], padding: 'same' },
  { poolSize: [3, 3], strides: [2, 1], padding: 'same' },
];

for (const backend of BACKENDS)
  describe(`average pooling that saves nothing (${backend})`, () => {
    after(() => useBackend('cpu'));

    it('forward equals tf.avgPool; gradient equals tfjs where no window is cut, and the exact one everywhere', async () => {
      await useBackend(backend);
      const x = tf.randomNormal([2, 5, 6, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
      for (const p of CASES) {
        const layer = new NoSaveAvgPool2D(p);
        const ref = tf.layers.averagePooling2d(p);
        const y = layer.apply(x, { training: true }) as tf.Tensor;
        assert.ok(maxAbsDiff(y, ref.apply(x) as tf.Tensor) < 1e-6, `forward ${JSON.stringify(p)}`);
        const r = tf.randomNormal(y.shape, 0, 1, 'float32', 2);
        const g = layerGrad(layer, x, r);
        const exact = linearGrad(p, x, r);
        assert.ok(maxAbsDiff(g, exact) < 1e-4, `${JSON.stringify(p)}: ${maxAbsDiff(g, exact)}`);
        if (p.padding === 'valid') {
          const tfjs = layerGrad(ref, x, r);
          assert.ok(maxAbsDiff(g, tfjs) < 1e-5, `tfjs ${JSON.stringify(p)}`);
        }
        tf.dispose([y, r, g]);
      }
      // 'same' with no cut window: tfjs's own gradient (which always divides by the full window)
      // is right there, and must match.
      const even = tf.randomNormal([2, 4, 6, 2], 0, 1, 'float32', 3);
      const p = { poolSize: 2, strides: 2, padding: 'same' as const };
      const r = tf.randomNormal([2, 2, 3, 2], 0, 1, 'float32', 4);
      const a = layerGrad(new NoSaveAvgPool2D(p), even, r);
      const b = layerGrad(tf.layers.averagePooling2d(p), even, r);
      assert.ok(maxAbsDiff(a, b) < 1e-5);
    });

    it('keeps nothing on the tape and leaks no tensors', async () => {
      await useBackend(backend);
      const layer = new NoSaveAvgPool2D({ poolSize: 2 });
      const x = tf.randomNormal([2, 4, 4, 2], 0, 1, 'float32', 5);
      const r = tf.ones([2, 2, 2, 2]);
      tf.dispose(layerGrad(layer, x, r));
      const before = tf.memory().numTensors;
      tf.dispose(layerGrad(layer, x, r));
      assert.equal(tf.memory().numTensors, before);
      assert.equal(layer.lastSavedBytes, 0);
      // The input can be freed right after the forward: the backward never reads it.
      const y = tf.grads((xx: tf.Tensor) => {
        const inner = tf.mul(xx, 2);
        const out = layer.apply(inner, { training: true }) as tf.Tensor;
        inner.dispose();
        return tf.sum(out);
      })([x]);
      assert.ok(maxAbsDiff(y[0], tf.fill(x.shape, 0.5)) < 1e-6);
    });
  });

describe('converting average pooling', () => {
  it('converts AveragePooling2D, keeps the forward, and saves and loads', async () => {
    await useBackend('cpu');
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [6, 6, 1], filters: 2, kernelSize: 3, padding: 'same' }),
        tf.layers.averagePooling2d({ poolSize: 3, strides: 2, padding: 'same', name: 'avg' }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 2 }),
      ],
    });
    const r = await compressActivations(model, { level: 'L3' }, { warn: () => {} });
    assert.deepEqual(r.unconverted, []);
    assert.equal(r.converted.find((c) => c.name === 'avg')?.to, 'FrugalNoSaveAvgPool2D');
    const x = tf.randomNormal([2, 6, 6, 1], 0, 1, 'float32', 6);
    assert.ok(maxAbsDiff(r.model.predict(x) as tf.Tensor, model.predict(x) as tf.Tensor) < 1e-6);
    const loaded = await saveAndLoad(r.model);
    const pool = loaded.getLayer('avg') as NoSaveAvgPool2D;
    assert.ok(pool instanceof NoSaveAvgPool2D);
    assert.deepEqual([pool.poolSize, pool.strides, pool.padding], [[3, 3], [2, 2], 'same']);
    assert.ok(maxAbsDiff(loaded.predict(x) as tf.Tensor, model.predict(x) as tf.Tensor) < 1e-6);
    loaded.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
    const h = await loaded.fit(x, tf.zeros([2, 2]), { epochs: 1, verbose: 0 });
    assert.ok(Number.isFinite(h.history.loss[0] as number));
  });

  it('rejects bad pool settings with the field named', () => {
    assert.throws(() => new NoSaveAvgPool2D({ poolSize: 0 }), /poolSize/);
    assert.throws(() => new NoSaveAvgPool2D({ padding: 'causal' as unknown as 'same' }), /padding/);
  });
});
