import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { compressActivations } from '../../src/activation/convert.js';
import { compress } from '../../src/compress/compress.js';
import { decomposeModel } from '../../src/compress/decompose/decompose-model.js';
import { copyModel, type LayerEdit, rewriteModel } from '../../src/rewrite/rewrite-model.js';
import { maxAbsDiff, saveAndLoad, useBackend } from '../helpers.js';

function mlp(): tf.Sequential {
  const m = tf.sequential({ name: 'small' });
  m.add(tf.layers.dense({ inputShape: [6], units: 8, activation: 'relu', name: 'd1' }));
  m.add(tf.layers.dropout({ rate: 0.5, name: 'drop' }));
  m.add(tf.layers.dense({ units: 3, name: 'out' }));
  return m;
}

/** x -> shared -> relu -> shared -> out: one Dense used twice. */
function sharedModel(): tf.LayersModel {
  const x = tf.input({ shape: [4], name: 'x' });
  const shared = tf.layers.dense({ units: 4, name: 'shared', kernelInitializer: 'glorotNormal' });
  const h = tf.layers.reLU({ name: 'relu' }).apply(shared.apply(x)) as tf.SymbolicTensor;
  const y = tf.layers.dense({ units: 2, name: 'out' }).apply(shared.apply(h));
  return tf.model({ inputs: x, outputs: y as tf.SymbolicTensor, name: 'shared_net' });
}

const predict = (m: tf.LayersModel, x: tf.Tensor) => m.predict(x) as tf.Tensor;

describe('rewriteModel', () => {
  before(() => useBackend('cpu'));

  it('keeps a Sequential model Sequential: replace the first layer by two, remove one, report both', async () => {
    const model = mlp();
    const [k, b] = model.getLayer('d1').getWeights();
    const { model: out, report } = rewriteModel(
      model,
      new Map([
        [
          'd1',
          {
            replace: [
              { className: 'Dense', config: { name: 'd1_a', units: 8 }, weights: [k, b] },
              { layer: tf.layers.reLU({ name: 'd1_b' }) },
            ],
            note: 'split',
          },
        ],
        ['drop', { remove: true }],
        ['out', { keep: 'the head stays' }],
      ]),
    );
    assert.ok(out instanceof tf.Sequential);
    assert.equal(out.name, 'small');
    assert.deepEqual(
      out.layers.map((l) => l.name),
      ['d1_a', 'd1_b', 'out'],
    );
    assert.deepEqual(report.replaced, [
      {
        name: 'd1',
        className: 'Dense',
        by: [
          { name: 'd1_a', className: 'Dense' },
          { name: 'd1_b', className: 'ReLU' },
        ],
        note: 'split',
      },
    ]);
    assert.deepEqual(report.removed, [{ name: 'drop', className: 'Dropout', note: undefined }]);
    assert.deepEqual(report.kept, [{ name: 'out', className: 'Dense', reason: 'the head stays' }]);
    // Dense(linear) then ReLU is d1 (relu) exactly; dropout is the identity in inference.
    const x = tf.randomNormal([5, 6], 0, 1, 'float32', 1);
    assert.equal(maxAbsDiff(predict(out, x), predict(model, x)), 0);
    const loaded = await saveAndLoad(out);
    assert.equal(maxAbsDiff(predict(loaded, x), predict(out, x)), 0);
  });

  it('rewrites a shared layer once: its replacement is shared the same way, weights set once', () => {
    const model = sharedModel();
    const weights = model.getLayer('shared').getWeights();
    const { model: out } = rewriteModel(model, (layer) =>
      layer.name === 'shared'
        ? { replace: [{ className: 'Dense', config: { units: 4 }, weights }] }
        : null,
    );
    assert.equal(out.getLayer('shared').inboundNodes.length, 2);
    const x = tf.randomNormal([3, 4], 0, 1, 'float32', 2);
    assert.equal(maxAbsDiff(predict(out, x), predict(model, x)), 0);
  });

  it('decomposeModel decomposes a shared Dense and keeps a Sequential model Sequential', () => {
    const model = sharedModel();
    const { model: d } = decomposeModel(model, {
      method: 'svd',
      rank: 4,
      layers: { out: { skip: true } },
    });
    const x = tf.randomNormal([3, 4], 0, 1, 'float32', 3);
    assert.ok(maxAbsDiff(predict(d, x), predict(model, x)) < 1e-5);
    assert.equal(d.getLayer('shared_svd_in').inboundNodes.length, 2);
    const seq = mlp();
    const { model: ds } = decomposeModel(seq, {
      method: 'svd',
      rank: 3,
      layers: { d1: { skip: true } },
    });
    assert.ok(ds instanceof tf.Sequential);
    assert.equal(ds.name, 'small');
  });

  it('keeps frozen layers frozen through every rewrite (compress, activation conversion)', async () => {
    const model = mlp();
    model.getLayer('d1').trainable = false;
    const lowrank = await compress(
      model,
      { version: 1, steps: [{ method: 'lowrank', options: { method: 'svd', rank: 2 } }] },
      { measure: false },
    );
    const svd = decomposeModel(model, { method: 'svd', rank: 2, layers: { out: { skip: true } } });
    const frozen = [
      ['d1_svd_in', false],
      ['d1_svd_out', false],
      ['drop', true],
      ['out', true],
    ];
    for (const m of [lowrank.model, svd.model])
      assert.deepEqual(
        m.layers.map((l) => [l.name, l.trainable]),
        frozen,
      );
    const act = await compressActivations(model, { level: 'L3' }, { warn: () => {} });
    assert.equal(act.model.getLayer('d1').trainable, false);
  });

  it('copies every weight and leaves no tensors behind', () => {
    const model = mlp();
    const before = tf.memory().numTensors;
    const copy = copyModel(model);
    assert.notEqual(copy.getLayer('d1'), model.getLayer('d1'));
    const diff = tf.tidy(() => {
      const x = tf.randomNormal([2, 6], 0, 1, 'float32', 4);
      return maxAbsDiff(predict(copy, x), predict(model, x));
    });
    assert.equal(diff, 0);
    copy.dispose();
    assert.equal(tf.memory().numTensors, before);
  });

  it('refuses edits it cannot do, naming the layer', () => {
    const model = sharedModel();
    const bad: [string, LayerEdit, RegExp][] = [
      ['nope', { remove: true }, /rewriteModel: no layer named 'nope'/],
      ['x', { remove: true }, /no layer named 'x' that can be rewritten/],
      ['relu', { replace: [] }, /the replacement of 'relu' has no layers/],
      [
        'relu',
        { replace: [{ className: 'NoSuchLayer', config: {} }] },
        /unknown layer class 'NoSuchLayer'/,
      ],
    ];
    for (const [name, edit, message] of bad)
      assert.throws(() => rewriteModel(model, new Map([[name, edit]])), message);
    const a = tf.input({ shape: [2] });
    const sum = tf.layers.add({ name: 'sum' }).apply([a, a]) as tf.SymbolicTensor;
    const two = tf.model({ inputs: a, outputs: sum });
    assert.throws(
      () => rewriteModel(two, new Map([['sum', { remove: true }]])),
      /cannot remove 'sum': it has 2 inputs and 1 outputs/,
    );
  });
});
