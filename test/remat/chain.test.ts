import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { buildModel } from '../../src/models/zoo.js';
import { buildChain } from '../../src/remat/chain.js';
import { maxAbsDiff, useBackend } from '../helpers.js';
import { tinyBatch, tinyModel } from './fixtures.js';

describe('chain of stages', () => {
  it('splits Sequential models at every layer', async () => {
    await useBackend('cpu');
    const cnn = buildModel('cnn', {
      inputShape: [8, 8, 1],
      numClasses: 3,
      filters: [2, 2],
      dense: 4,
    });
    const c = buildChain(cnn);
    assert.deepEqual(
      c.stages.map((s) => s.name),
      ['conv1', 'conv2', 'pool', 'flatten', 'dense1', 'logits'],
    );
    cnn.dispose();
  });

  it('splits the ResNet at residual blocks and the Transformer at its residual adds', async () => {
    await useBackend('cpu');
    const resnet = tinyModel('resnet');
    const names = buildChain(resnet).stages.map((s) => s.name);
    assert.ok(names.includes('s1b1_conv1..s1b1_add'), names.join(' | '));
    assert.ok(names.includes('s2b1_conv1..s2b1_add'), names.join(' | '));
    const transformer = tinyModel('transformer');
    const tn = buildChain(transformer).stages.map((s) => s.name);
    assert.ok(tn.includes('b1_ln1..b1_add1') && tn.includes('b2_ln2..b2_add2'), tn.join(' | '));
    // Every trainable variable belongs to exactly one stage.
    for (const m of [resnet, transformer]) {
      const c = buildChain(m);
      const ids = c.stages.flatMap((s) => s.variables.map((v) => v.id)).sort();
      assert.deepEqual(ids, c.variables.map((v) => v.id).sort());
    }
    resnet.dispose();
    transformer.dispose();
  });

  it("split 'layers' cuts inside residual blocks and carries the skip tensor", async () => {
    await useBackend('cpu');
    const resnet = tinyModel('resnet');
    const c = buildChain(resnet, { split: 'layers' });
    const names = c.stages.map((s) => s.name);
    assert.ok(names.includes('s1b1_conv1') && names.includes('s1b1_add'), names.join(' | '));
    const conv1 = c.stages[names.indexOf('s1b1_conv1')];
    const add = c.stages[names.indexOf('s1b1_add')];
    // The block input is passed on by the first sub-stage and consumed by the add.
    assert.deepEqual(
      conv1.carriedOut.map((t) => t.id),
      [conv1.input.id],
    );
    assert.deepEqual(
      add.carried.map((t) => t.id),
      [conv1.input.id],
    );
    assert.equal(add.carriedOut.length, 0);
    assert.ok(c.stages.length > buildChain(resnet).stages.length);
    resnet.dispose();
  });

  it('running the stages in order equals the model (inference and training)', async () => {
    await useBackend('cpu');
    const model = tinyModel('resnet');
    const { xs, ys } = tinyBatch('resnet');
    for (const training of [false, true]) {
      const chained = tf.tidy(() =>
        buildChain(model).stages.reduce((h, s) => s.run(h, training, true), xs),
      );
      const plain = model.apply(xs, { training }) as tf.Tensor;
      assert.ok(maxAbsDiff(chained, plain) < 1e-5);
      tf.dispose([chained, plain]);
    }
    tf.dispose([xs, ys]);
    model.dispose();
  });

  it('rejects random layers and models with several inputs', async () => {
    await useBackend('cpu');
    const m = tf.sequential({
      layers: [
        tf.layers.dense({ units: 4, inputShape: [3] }),
        tf.layers.dropout({ rate: 0.5, name: 'drop' }),
        tf.layers.dense({ units: 2 }),
      ],
    });
    assert.throws(() => buildChain(m), /layer drop \(Dropout\) is random in training/);
    const a = tf.input({ shape: [3] });
    const b = tf.input({ shape: [3] });
    const two = tf.model({
      inputs: [a, b],
      outputs: tf.layers.add().apply([a, b]) as tf.SymbolicTensor,
    });
    assert.throws(() => buildChain(two), /one input and one output, got 2 and 1/);
    m.dispose();
  });
});
