import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { decomposeModel } from '../../src/compress/decompose/decompose-model.js';
import type { ClassificationData } from '../../src/data/dataset.js';
import { foldSvdPairs, plrd } from '../../src/lowrank/plrd.js';
import { seededMlp } from '../tiny-models.js';

function mlp(): tf.LayersModel {
  return seededMlp(16, [
    [24, 'h1'],
    [24, 'h2'],
    [3, 'out'],
  ]);
}

function toyData(): ClassificationData {
  const n = 48;
  const x = new Float32Array(n * 16).map((_, i) => Math.sin(i * 0.37));
  const y = Int32Array.from({ length: n }, (_, i) => i % 3);
  return {
    name: 'toy',
    sampleShape: [16],
    numClasses: 3,
    train: { x, y, count: n },
    test: { x, y, count: n },
  };
}

test('foldSvdPairs: the folded Dense computes what the factor pair computes', () => {
  const m = mlp();
  const { model } = decomposeModel(m, { method: 'svd', rank: 5, layers: { out: { skip: true } } });
  const folded = foldSvdPairs(model, ['h1', 'h2']);
  assert.deepEqual(
    folded.layers.map((l) => l.name),
    ['h1', 'h2', 'out'],
  );
  const x = tf.randomNormal([4, 16], 0, 1, 'float32', 3);
  const d = tf.tidy(
    () =>
      tf
        .max(tf.abs(tf.sub(model.predict(x) as tf.Tensor, folded.predict(x) as tf.Tensor)))
        .dataSync()[0],
  );
  assert.ok(d < 1e-5, `${d}`);
  tf.dispose(x);
});

test('plrd: ranks decrease member by member, params shrink, each member is its own model', () => {
  const m = mlp();
  const family = plrd(m, toyData(), {
    layers: ['h1', 'h2'],
    fineTune: { maxSteps: 2, batchSize: 16 },
  });
  assert.equal(family.length, 3);
  for (let i = 1; i < family.length; i++) {
    for (const n of ['h1', 'h2'])
      assert.ok(
        family[i].ranks[n] < family[i - 1].ranks[n],
        `${n}: ${family[i - 1].ranks[n]} -> ${family[i].ranks[n]}`,
      );
    assert.ok(family[i].params < family[i - 1].params);
  }
  // rank at 25%: 16x24: floor(0.25 * 384 / 40) = 2; 24x24: floor(0.25 * 576 / 48) = 3
  assert.deepEqual(family[2].ranks, { h1: 2, h2: 3 });
  assert.equal(family[2].model.getLayer('h1_svd_in').getWeights()[0].shape[1], 2);
  for (const f of family) assert.equal(f.losses.length, 2);
  assert.throws(
    () => plrd(m, toyData(), { fractions: [0.5, 0.6] }),
    /fractions must decrease strictly/,
  );
  assert.throws(() => plrd(m, toyData(), { layers: ['nope'] }), /no layer named nope/);
  assert.throws(
    () => plrd(m, toyData(), { layers: ['out'], fractions: [0.1] }),
    /layer out \(24x3\) would need rank 0 < 1/,
  );
  // by default every Dense layer whose rank can go down at each step: not the 24x3 output layer
  const dflt = plrd(m, toyData(), { fractions: [0.5, 0.25], fineTune: { maxSteps: 1 } });
  assert.deepEqual(Object.keys(dflt[0].ranks), ['h1', 'h2']);
  for (const f of [...family, ...dflt]) f.model.dispose();
});

test('plrd: bad input names the field, the layer or the mismatch', () => {
  const m = mlp();
  const d = toyData();
  assert.throws(
    () => plrd(m, d, { fractions: [] }),
    /fractions must be a list of at least 1 entries/,
  );
  assert.throws(
    () => plrd(m, d, { fractions: [0.5, 0] }),
    /plrd options: fractions\[1\] must be in \(0, 1\), got 0/,
  );
  assert.throws(() => plrd(m, d, { fractions: [1] }), /fractions\[0\] must be in \(0, 1\), got 1/);
  assert.throws(() => plrd(m, d, { fractions: [Number.NaN] }), /fractions\[0\]/);
  assert.throws(() => plrd(m, d, { layers: [] }), /layers must be a list of at least 1 entries/);
  assert.throws(() => plrd(m, d, { layers: ['h1', 'h1'] }), /layer h1 is named twice/);
  assert.throws(
    () => plrd(m, d, { fraction: 0.5 } as never),
    /unknown field 'fraction' \(known: fractions, layers, distill, fineTune\)/,
  );
  assert.throws(
    () => plrd(m, d, { fineTune: { steps: 3 } as never }),
    /fineTune.*unknown field 'steps'/,
  );
  assert.throws(
    () => plrd(m, d, { fineTune: { features: [] } as never }),
    /unknown field 'features'/,
  );
  assert.throws(() => plrd(m, d, { fineTune: { alpha: 2 } }), /fineTune\.alpha/);
  assert.throws(() => plrd(m, d, { fineTune: { maxSteps: 0 } }), /fineTune\.maxSteps/);
  assert.throws(
    () => plrd(m, d, { distill: false, fineTune: { temperature: 4 } }),
    /temperature is set but distill is false/,
  );
  assert.throws(
    () => plrd(m, { ...d, sampleShape: [4, 4] }),
    /the data's samples are \[4,4\] but the model reads \[16\]/,
  );
  assert.throws(
    () => plrd(m, { ...d, numClasses: 5 }),
    /the data has 5 classes but the model outputs 3/,
  );
  // not decomposable: a layer without a kernel, a model with no Dense layer whose rank can drop
  const withFlatten = tf.sequential({
    layers: [
      tf.layers.reshape({ targetShape: [16], inputShape: [16], name: 'flat' }),
      tf.layers.dense({ units: 3, name: 'out' }),
    ],
  });
  assert.throws(
    () => plrd(withFlatten, d, { layers: ['flat'] }),
    /layer flat is a Reshape layer; PLRD lowers SVD ranks of Dense layers/,
  );
  assert.throws(
    () => plrd(withFlatten, d),
    /no Dense layer whose rank can be lowered at every fraction/,
  );
  withFlatten.dispose();
  m.dispose();
});
