import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { setIntegerKernels } from '../../src/compress/packed/int-kernel.js';
import {
  channelRanges,
  paramsFromRanges,
  quantizeWith,
} from '../../src/compress/quantize/uniform.js';
import {
  convertQat,
  fakeQuant,
  finetuneQat,
  prepareQat,
  QatLayer,
} from '../../src/lowprec/index.js';
import { buildModel } from '../../src/models/zoo.js';
import { maxAbsDiff, saveAndLoad, useBackend } from '../helpers.js';
import { tinyData } from '../tiny-data.js';
import { tinyCnn } from '../tiny-models.js';

describe('QAT', () => {
  it('STE: gradient is 1 inside the range and 0 where the value was clipped', async () => {
    await useBackend('cpu');
    const params = paramsFromRanges([-1], [1], 4, 'symmetric');
    const x = tf.tensor1d([-3, -0.9, -0.2, 0, 0.33, 0.95, 2.5]);
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(fakeQuant(t, params, 'symmetric'), 2)))(x);
    assert.deepEqual(Array.from(g.dataSync()), [0, 2, 2, 2, 2, 2, 0]);
    const y = fakeQuant(x, params, 'symmetric').dataSync();
    assert.ok(Math.abs(y[0] + 1) < 1e-6 && Math.abs(y[6] - 1) < 1e-6, 'clipped to the range');
    tf.dispose([x, g]);
  });

  it('fake-quant codes equal compress quantizeWith per channel (2, 4, 8 bits; both schemes)', async () => {
    await useBackend('cpu');
    const w = tf.randomNormal([3, 3, 4, 5], 0, 0.3, 'float32', 7);
    const vals = w.dataSync();
    for (const scheme of ['symmetric', 'affine'] as const) {
      for (const bits of [2, 4, 8]) {
        const { lo, hi } = channelRanges(vals, 5, (i) => i % 5);
        const p = paramsFromRanges(lo, hi, bits, scheme);
        const codes = quantizeWith(vals, p, scheme, (i) => i % 5);
        const layer = new QatLayer({ kind: 'conv2d', kernelShape: [3, 3, 4, 5], bits, scheme });
        layer.build([null, 6, 6, 4]);
        layer.setWeights([w, tf.zeros([5])]);
        const q = layer.quantizedKernel().dataSync();
        for (let i = 0; i < vals.length; i++) {
          const c = i % 5;
          assert.equal(
            q[i],
            Math.fround(codes[i] * p.scale[c] + p.offset[c]),
            `${scheme} ${bits} at ${i}`,
          );
        }
      }
    }
    w.dispose();
  });

  it('prepare -> fine-tune -> convert: converted outputs equal the fake-quant model, save/load, no leaks', async () => {
    await useBackend('cpu');
    const data = tinyData([8, 8, 1], 128, 3);
    const model = tinyCnn([4, 8], 16, 1);
    const p = await prepareQat(model, { bits: 4 });
    assert.ok(Object.keys(p.prepared).length === 4, `prepared ${Object.keys(p.prepared)}`);
    assert.ok(!model.layers.some((l) => l instanceof QatLayer), 'input model untouched');
    const n0 = tf.memory().numTensors;
    const r = finetuneQat(p.model, data, { steps: 6, batchSize: 16, learningRate: 1e-2, seed: 1 });
    assert.equal(tf.memory().numTensors, n0, 'fine-tuning leaks no tensors');
    assert.equal(r.losses.length, 6);
    const x = tf.randomNormal([5, 8, 8, 1], 0, 1, 'float32', 2);
    const fq = p.model.predict(x) as tf.Tensor;
    const c = convertQat(p.model);
    assert.equal(c.converted.length, 4);
    assert.ok(c.model.layers.some((l) => l.getClassName() === 'FrugalPackedConv2D'));
    // The decoded float path computes what the fake-quant forward did; the integer kernels also
    // quantize activations (8-bit), so they agree only closely.
    const yInt = c.model.predict(x) as tf.Tensor;
    assert.ok(maxAbsDiff(yInt, fq) < 0.05, `integer kernels vs fake-quant ${maxAbsDiff(yInt, fq)}`);
    setIntegerKernels({ enabled: false });
    const y = c.model.predict(x) as tf.Tensor;
    const loaded = await saveAndLoad(c.model);
    try {
      assert.ok(maxAbsDiff(y, fq) < 1e-6, `converted vs fake-quant differ by ${maxAbsDiff(y, fq)}`);
      assert.ok(maxAbsDiff(loaded.predict(x) as tf.Tensor, fq) < 1e-6, 'packed save/load');
    } finally {
      setIntegerKernels({ enabled: true });
    }
    const loadedQat = await saveAndLoad(p.model);
    assert.ok(maxAbsDiff(loadedQat.predict(x) as tf.Tensor, fq) < 1e-6, 'QAT model save/load');
    const n1 = tf.memory().numTensors;
    tf.dispose(p.model.predict(x) as tf.Tensor);
    assert.equal(tf.memory().numTensors, n1, 'predict leaks nothing');
    for (const m of [model, p.model, c.model, loaded, loadedQat]) m.dispose();
    tf.dispose([x, fq, y, yInt]);
  });

  it('bad input: bits, scheme, data shape errors name the field', async () => {
    await useBackend('cpu');
    const model = buildModel('mlp', { inputShape: [6], numClasses: 2, hidden: [4], seed: 1 });
    await assert.rejects(
      prepareQat(model, { bits: 9 }),
      /bits must be an integer from 2 to 8, got 9/,
    );
    await assert.rejects(prepareQat(model, { bits: 3.5 }), /bits/);
    await assert.rejects(
      prepareQat(model, { bits: 4, scheme: 'log' as 'affine' }),
      /scheme must be one of symmetric, affine, got log/,
    );
    const p = await prepareQat(model, { bits: 4 });
    const data = tinyData([5], 32, 1, { numClasses: 2 });
    assert.throws(
      () => finetuneQat(p.model, data, { steps: 1, batchSize: 8, learningRate: 1e-3, seed: 1 }),
      /data samples have shape \[5\], the model expects \[6\]/,
    );
    assert.throws(() => convertQat(model), /no QAT layers/);
    model.dispose();
    p.model.dispose();
  });
});
