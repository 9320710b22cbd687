import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import {
  type DecomposeConfig,
  validateDecomposeConfig,
} from '../../../src/compress/decompose/config.js';
import { cpReconstruct } from '../../../src/compress/decompose/cp-tensor.js';
import { decomposeModel } from '../../../src/compress/decompose/decompose-model.js';
import { makeRng, normal } from '../../../src/engine/random.js';
import { buildModel } from '../../../src/models/zoo.js';
import { maxAbsDiff, saveAndLoad, useBackend } from '../../helpers.js';
import { assertLossFallsWithoutLeaks } from '../../step-losses.js';
import { tinyResnet, tinyCnn as zooCnn } from '../../tiny-models.js';

const tinyCnn = () => zooCnn([4, 6], 8, 1);

function batch(seed: number) {
  const xs = tf.randomNormal([4, 8, 8, 1], 0, 1, 'float32', seed);
  const labels = Int32Array.from([0, 1, 2, 1]);
  return { xs, ys: tf.oneHot(tf.tensor1d(labels, 'int32'), 3) as tf.Tensor2D, labels, size: 4 };
}

describe('decomposeModel', () => {
  for (const backend of ['cpu', 'wasm']) {
    it(`${backend}: at full rank (Tucker-2 conv, SVD dense) reproduces the CNN outputs`, async () => {
      await useBackend(backend);
      const model = tinyCnn();
      const { model: d, report } = decomposeModel(model, {
        method: 'tucker2',
        rank: [4, 6],
        layers: { conv1: { skip: true }, dense1: { method: 'svd', rank: 8 } },
      });
      const x = tf.randomNormal([2, 8, 8, 1], 0, 1, 'float32', 3);
      assert.ok(maxAbsDiff(model.predict(x) as tf.Tensor, d.predict(x) as tf.Tensor) < 1e-5);
      assert.deepEqual(
        report.layers.map((l) => l.layer),
        ['conv2', 'dense1'],
      );
      assert.equal(report.paramsBefore, model.countParams());
      assert.equal(report.paramsAfter, d.countParams());
    });
  }

  it('CP layers keep strides and same padding: an exact-rank kernel gives the same outputs', async () => {
    await useBackend('cpu');
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({
          inputShape: [9, 7, 3],
          filters: 5,
          kernelSize: 3,
          strides: 2,
          padding: 'same',
          name: 'c',
        }),
      ],
    });
    // Kernel with CP rank 2: sum_r a_h[r] a_w[r] a_in[r] a_out[r].
    const rng = makeRng(20);
    const factors = [3, 3, 3, 5].map((n) => ({
      rows: n,
      cols: 2,
      data: Float64Array.from({ length: 2 * n }, () => normal(rng)),
    }));
    const kernel = tf.tensor(Float32Array.from(cpReconstruct({ factors }).data), [3, 3, 3, 5]);
    model.getLayer('c').setWeights([kernel, tf.randomNormal([5], 0, 1, 'float32', 30)]);
    const x = tf.randomNormal([2, 9, 7, 3], 0, 1, 'float32', 31);
    const y = model.predict(x) as tf.Tensor;
    for (const method of ['cp', 'tucker2'] as const) {
      const { model: d } = decomposeModel(model, { method, rank: method === 'cp' ? 2 : [3, 5] });
      const yd = d.predict(x) as tf.Tensor;
      assert.deepEqual(yd.shape, y.shape);
      assert.ok(maxAbsDiff(y, yd) < 1e-4, `${method}: ${maxAbsDiff(y, yd)}`);
    }
  });

  const cases: [string, DecomposeConfig][] = [
    ['svd', { method: 'svd', ratio: 0.5, layers: { logits: { skip: true } } }],
    ['ttm', { method: 'ttm', ratio: 0.5, ttmCores: 2, layers: { logits: { skip: true } } }],
    ['tucker2', { method: 'tucker2', ratio: 0.5, layers: { conv1: { skip: true } } }],
    ['cp', { method: 'cp', ratio: 0.5, layers: { conv1: { skip: true } } }],
    ['cp-admm', { method: 'cp-admm', ratio: 0.5, bits: 4, layers: { conv1: { skip: true } } }],
  ];
  for (const [name, config] of cases) {
    it(`${name}: halves the layer, saves, loads, predicts the same and fine-tunes without leaks`, async () => {
      await useBackend('cpu');
      const model = tinyCnn();
      const { model: d, report } = decomposeModel(model, config);
      assert.equal(report.layers.length, 1);
      const l = report.layers[0];
      assert.ok(l.paramsAfter <= 0.5 * l.paramsBefore, `${l.paramsAfter} vs ${l.paramsBefore}`);
      assert.equal(model.countParams() - d.countParams(), l.paramsBefore - l.paramsAfter);
      assert.ok(l.relativeError > 0 && l.relativeError < 1);
      const loaded = await saveAndLoad(d);
      const x = tf.randomNormal([2, 8, 8, 1], 0, 1, 'float32', 5);
      assert.equal(maxAbsDiff(d.predict(x) as tf.Tensor, loaded.predict(x) as tf.Tensor), 0);
      const ctx = { model: loaded, optimizer: tf.train.adam(0.01) };
      const b = batch(7);
      assertLossFallsWithoutLeaks(ctx, b, 3);
      tf.dispose([x, b.xs, b.ys]);
    });
  }

  it('cp-admm puts the CP factors of the new layers on the reported grid', async () => {
    await useBackend('cpu');
    const { model: d, report } = decomposeModel(tinyCnn(), {
      method: 'cp-admm',
      rank: 5,
      bits: 3,
      layers: { conv1: { skip: true } },
    });
    const scales = report.layers[0].gridScales!;
    for (const name of ['conv2_cp_in', 'conv2_cp_v', 'conv2_cp_h', 'conv2_cp_out']) {
      const step = scales[name];
      assert.ok(step > 0);
      for (const v of d.getLayer(name).getWeights()[0].dataSync()) {
        const k = v / step;
        assert.ok(
          Math.abs(k - Math.round(k)) < 1e-4 && Math.abs(Math.round(k)) <= 3,
          `${name}: ${v}`,
        );
      }
    }
  });

  it('rebuilds a functional ResNet (batch norm, residual adds) with one conv decomposed', async () => {
    await useBackend('cpu');
    const model = tinyResnet([4], 2);
    const conv = model.layers.find(
      (l) => l.getClassName() === 'Conv2D' && l.getWeights()[0].shape[2] === 4,
    )!;
    const cout = conv.getWeights()[0].shape[3] as number;
    const { model: d } = decomposeModel(model, {
      layers: { [conv.name]: { method: 'tucker2', rank: [4, cout] } },
    });
    const x = tf.randomNormal([2, 8, 8, 1], 0, 1, 'float32', 9);
    assert.ok(maxAbsDiff(model.predict(x) as tf.Tensor, d.predict(x) as tf.Tensor) < 1e-4);
  });

  it('decomposes the MLP with SVD by energy', async () => {
    await useBackend('cpu');
    const model = buildModel('mlp', {
      inputShape: [6, 6, 1],
      numClasses: 3,
      hidden: [16],
      seed: 3,
    });
    const { report } = decomposeModel(model, { method: 'svd', energy: 0.9 });
    assert.deepEqual(
      report.layers.map((l) => l.layer),
      ['dense1', 'logits'],
    );
    for (const l of report.layers) assert.ok(l.relativeError <= Math.sqrt(0.1) + 1e-9);
  });

  it('gives clear errors for bad configs, impossible ranks and NaN weights', async () => {
    await useBackend('cpu');
    const model = tinyCnn();
    assert.throws(
      () => decomposeModel(model, { method: 'svd', rank: 4, layers: { nope: { skip: true } } }),
      /unknown layer names nope/,
    );
    assert.throws(
      () => decomposeModel(model, { method: 'svd', rank: 100 }),
      /layer 'dense1': rank 100 is impossible for a 24x8 Dense kernel \(at most 8\)/,
    );
    assert.throws(
      () => decomposeModel(model, { method: 'tucker2', rank: 3 }),
      /layer 'conv1': Tucker-2 ranks \[3, 3\] are impossible for 1 input and 4 output channels/,
    );
    assert.throws(
      () => decomposeModel(model, { layers: { conv2: { method: 'svd', rank: 2 } } }),
      /'conv2' is a Conv2D layer; method 'svd' applies to Dense layers/,
    );
    assert.throws(
      () => decomposeModel(model, { method: 'svd', maxParams: 3 }),
      /budget of 3 parameters is too small for svd/,
    );
    assert.throws(
      () =>
        decomposeModel(model, { method: 'cp-admm', rank: 3, layers: { conv1: { skip: true } } }),
      /cp-admm needs bits/,
    );
    assert.throws(
      () => decomposeModel(model, { method: 'svd', rank: 2, ratio: 0.5 }),
      /only one of rank, energy, ratio, maxParams/,
    );
    assert.throws(
      () => decomposeModel(model, { method: 'svd', rnk: 2 } as DecomposeConfig),
      /unknown field 'rnk'/,
    );
    assert.throws(
      () => decomposeModel(model, { method: 'svd', ratio: 1.5 }),
      /ratio must be in \(0, 1\), got 1.5/,
    );
    assert.throws(
      () => decomposeModel(model, { method: 'cp', energy: 0.9, layers: { conv1: { skip: true } } }),
      /energy is not defined for cp/,
    );
    const unbuilt = tf.sequential();
    assert.throws(
      () => decomposeModel(unbuilt, { method: 'svd', rank: 1 }),
      /decomposeModel: the model (is not built|has no inputs)/,
    );
    const dense = model.getLayer('dense1');
    const [k, b] = dense.getWeights();
    const bad = k.bufferSync();
    bad.set(Number.NaN, 3, 2);
    dense.setWeights([bad.toTensor(), b]);
    assert.throws(
      () => decomposeModel(model, { method: 'svd', rank: 2 }),
      /layer 'dense1': kernel has a non-finite value \(NaN\) at index 26/,
    );
  });

  it('configs survive a JSON round trip', () => {
    const config: DecomposeConfig = {
      version: 1,
      method: 'tucker2',
      ratio: 0.5,
      layers: {
        conv1: { skip: true },
        dense1: { method: 'ttm', rank: 4, inFactors: [4, 6], outFactors: [2, 4] },
      },
    };
    assert.deepEqual(validateDecomposeConfig(JSON.parse(JSON.stringify(config))), config);
  });
});
