import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { validateActConfig } from '../../src/activation/config.js';
import { compressActivations } from '../../src/activation/convert.js';
import { streamingForward } from '../../src/activation/execution/streaming-forward.js';
import { activationMemory } from '../../src/activation/measure.js';
import { quantizingLayers } from '../../src/activation/precision/auto-precision.js';
import { activationReport } from '../../src/activation/report.js';
import { compressForTraining } from '../../src/activation/training.js';
import { buildModel } from '../../src/models/zoo.js';
import { externalMemory } from '../../src/report/external-memory.js';
import { defaultForward, trainStep } from '../../src/train/step.js';
import { maxAbsDiff, saveAndLoad, useBackend } from '../helpers.js';
import { tinyData } from '../tiny-data.js';
import { tinyCnn, tinyResnet, tinyTransformer } from '../tiny-models.js';

const quiet = { warn: () => {} };

describe('compressActivations', () => {
  before(() => useBackend('cpu'));

  it('keeps the weights of a (trained) CNN: same forward output, every layer converted', async () => {
    const model = tinyCnn([2, 3], 4, 1);
    model.setWeights(
      model.getWeights().map((w, i) => tf.randomNormal(w.shape, 0, 0.3, 'float32', i)),
    );
    const r = await compressActivations(model, { level: 'L3' }, quiet);
    assert.deepEqual(r.unconverted, []);
    assert.deepEqual(
      r.converted.map((c) => c.to),
      [
        'FrugalCompressedConv2D',
        'FrugalCompressedConv2D',
        'FrugalCompressedMaxPool2D',
        'FrugalNoSaveFlatten',
        'FrugalCompressedDense',
        'FrugalCompressedDense',
      ],
    );
    const x = tf.randomNormal([3, 8, 8, 1], 0, 1, 'float32', 7);
    assert.equal(maxAbsDiff(r.model.predict(x) as tf.Tensor, model.predict(x) as tf.Tensor), 0);
    const fwd = streamingForward(r.model);
    assert.ok(maxAbsDiff(fwd(x, true), model.predict(x) as tf.Tensor) < 1e-6);
  });

  it('converts a functional ResNet and the Transformer, reporting what it cannot convert', async () => {
    const resnet = tinyResnet([2, 4], 2);
    const r = await compressActivations(resnet, { level: 'L2' }, quiet);
    assert.deepEqual(r.unconverted, []);
    const x = tf.randomNormal([2, 8, 8, 1], 0, 1, 'float32', 8);
    assert.ok(maxAbsDiff(r.model.predict(x) as tf.Tensor, resnet.predict(x) as tf.Tensor) < 1e-5);
    const tr = tinyTransformer(3);
    const warnings: string[] = [];
    const t = await compressActivations(
      tr,
      { level: 'L3', fewbit: 2 },
      { warn: (m) => warnings.push(m) },
    );
    assert.deepEqual(t.unconverted, []);
    assert.deepEqual(warnings, []);
    const s = tf.randomNormal([2, 4, 6], 0, 1, 'float32', 9);
    assert.ok(maxAbsDiff(t.model.predict(s) as tf.Tensor, tr.predict(s) as tf.Tensor) < 1e-5);
  });

  it('applies per-layer overrides and skips', async () => {
    const model = buildModel('mlp', {
      inputShape: [4, 4, 1],
      numClasses: 3,
      hidden: [5, 5],
      seed: 1,
    });
    const names = model.layers.map((l) => l.name);
    const dense = names.filter((n) => n !== names[0]);
    const r = await compressActivations(
      model,
      { level: 'L3', overrides: { [dense[0]]: { actBits: 8 }, [dense[1]]: { skip: true } } },
      quiet,
    );
    assert.equal(r.converted.find((c) => c.name === dense[0])?.actBits, 8);
    assert.equal(r.unconverted.find((u) => u.name === dense[1])?.reason, 'skipped by override');
    await assert.rejects(
      compressActivations(model, { overrides: { nope: {} } }),
      /unknown layer 'nope'/,
    );
  });

  it('reports each convolution it cannot convert with the reason', async () => {
    const m = tf.sequential();
    m.add(tf.layers.conv2d({ inputShape: [8, 8, 2], filters: 2, kernelSize: 3, name: 'plain' }));
    m.add(tf.layers.conv2d({ filters: 2, kernelSize: 3, dilationRate: 2, name: 'dilated' }));
    m.add(tf.layers.depthwiseConv2d({ kernelSize: 1, depthMultiplier: 2, name: 'multiplied' }));
    m.add(tf.layers.depthwiseConv2d({ kernelSize: 1, activation: 'selu', name: 'selu' }));
    m.add(tf.layers.depthwiseConv2d({ kernelSize: 1, dilationRate: 2, name: 'dilated_dw' }));
    const r = await compressActivations(m, { level: 'L3' }, quiet);
    const reason = (name: string) => r.unconverted.find((u) => u.name === name)?.reason;
    assert.deepEqual(
      r.converted.map((c) => c.name),
      ['plain'],
    );
    assert.equal(reason('dilated'), 'dilated convolutions are not supported');
    assert.equal(reason('multiplied'), 'depthMultiplier other than 1 is not supported');
    assert.equal(reason('selu'), "activation 'selu' is not supported");
    assert.equal(reason('dilated_dw'), 'dilated convolutions are not supported');
    r.model.dispose();
    m.dispose();
  });

  it('a converted Transformer (attention, position embedding, layer norm) saves and loads', async () => {
    const tr = tinyTransformer(5);
    const r = await compressActivations(
      tr,
      { level: 'L3', fewbit: 2, rmm: { ratio: 0.5, kind: 'rows' } },
      quiet,
    );
    const loaded = await saveAndLoad(r.model);
    assert.deepEqual(
      loaded.layers.map((l) => l.getClassName()),
      r.model.layers.map((l) => l.getClassName()),
    );
    assert.equal((loaded.getLayer('b1_ff1').getConfig() as { rmmKind: string }).rmmKind, 'rows');
    const s = tf.randomNormal([2, 4, 6], 0, 1, 'float32', 3);
    assert.ok(maxAbsDiff(loaded.predict(s) as tf.Tensor, tr.predict(s) as tf.Tensor) < 1e-6);
  });

  it('converted models save and load, then predict and train', async () => {
    const model = tinyCnn([2, 2], 3, 4, [6, 6, 1], 2);
    const r = await compressActivations(model, { level: 'L3', fewbit: 1 }, quiet);
    const loaded = await saveAndLoad(r.model);
    assert.equal(loaded.layers[0].getClassName(), 'FrugalCompressedConv2D');
    assert.equal((loaded.layers[0].getConfig() as { actBits: number }).actBits, 2);
    const x = tf.randomNormal([2, 6, 6, 1], 0, 1, 'float32', 1);
    assert.equal(maxAbsDiff(loaded.predict(x) as tf.Tensor, r.model.predict(x) as tf.Tensor), 0);
    loaded.compile({ optimizer: 'sgd', loss: 'categoricalCrossentropy' });
    const h = await loaded.fit(x, tf.oneHot(tf.tensor1d([0, 1], 'int32'), 2), {
      epochs: 1,
      verbose: 0,
    });
    assert.ok(Number.isFinite(h.history.loss[0] as number));
  });

  it('saves at least 8x fewer bytes at 2 bits than with float32 saves', async () => {
    const model = tinyCnn([4, 8], 8, 5, [12, 12, 1], 3);
    const x = tf.randomNormal([8, 12, 12, 1], 0, 1, 'float32', 2);
    const y = tf.oneHot(tf.tensor1d([0, 1, 2, 0, 1, 2, 0, 1], 'int32'), 3);
    const stock = activationMemory(model, defaultForward(model), x, y);
    const mem = async (level: 'L0' | 'L3') => {
      const r = await compressActivations(model, { level }, quiet);
      return activationMemory(r.model, streamingForward(r.model), x, y);
    };
    const l0 = await mem('L0');
    const l3 = await mem('L3');
    // L0 (float32 saves) keeps no more than stock tfjs, which also keeps pooling/flatten inputs.
    assert.ok(
      l0.savedBytes <= stock.savedBytes,
      `L0 ${l0.savedBytes} vs stock ${stock.savedBytes}`,
    );
    assert.ok(l0.savedBytes / l3.savedBytes >= 8, `${l0.savedBytes} / ${l3.savedBytes}`);
    assert.ok(l3.peakBytes < l0.peakBytes, `peak ${l3.peakBytes} vs ${l0.peakBytes}`);
    const before = tf.memory().numTensors;
    await mem('L3');
    assert.ok(tf.memory().numTensors - before < 40, 'only the new model weights remain');
  });
});

describe('training with compressed activations', () => {
  before(() => useBackend('wasm'));

  it('trains a ResNet on wasm with mixed precision, leaking no tensors across steps', async () => {
    const data = tinyData([8, 8, 1], 16, 1, { testCount: 8 });
    const model = tinyResnet([2, 4], 1);
    const act = await compressForTraining(
      model,
      { level: 'L3.mixed', mixed: { avgBits: 2, everySteps: 2 } },
      data,
      { probeSize: 8 },
    );
    const layers = quantizingLayers(act.model);
    const bits = layers.map((l) => l.actBits);
    const sizes = layers.map((l) => l.lastExactBytes);
    const avg = bits.reduce((s, b, i) => s + b * sizes[i], 0) / sizes.reduce((a, b) => a + b, 0);
    assert.ok(avg <= 2 + 1e-9, `average bits ${avg}`);
    assert.ok(new Set(bits).size > 1, `mixed bits ${bits}`);
    const rows = Int32Array.from({ length: 8 }, (_, i) => i);
    const { gatherBatch } = await import('../../src/data/dataset.js');
    const batch = gatherBatch(data.train, data.sampleShape, 3, rows, 0, 8);
    const opt = tf.train.adam(1e-2);
    const ctx = { model: act.model, optimizer: opt, forward: act.forward };
    const first = trainStep(ctx, batch);
    act.afterStep();
    const n = tf.memory().numTensors;
    let loss = first;
    for (let i = 0; i < 4; i++) {
      loss = trainStep(ctx, batch);
      act.afterStep();
    }
    assert.equal(tf.memory().numTensors, n);
    assert.equal(externalMemory.live, 0, 'JS scratch memory is released');
    assert.ok(loss < first, `loss ${first} -> ${loss}`);
    const report = activationReport(act.model, act.forward, batch, { seeds: 2 });
    const conv = report.find((r) => r.name === 'stem_conv')!;
    assert.ok(conv.savedBytes < conv.exactBytes && conv.gradRelError! > 0);
    act.dispose();
  });
});

describe('activation config', () => {
  it('fills defaults, survives JSON, and names bad fields', () => {
    const c = validateActConfig({ level: 'L3.mixed', rmm: { ratio: 0.3, kind: 'rows' } });
    assert.deepEqual(c.mixed, { avgBits: 2, everySteps: 100 });
    assert.equal(c.perSample, false);
    assert.deepEqual(validateActConfig(JSON.parse(JSON.stringify(c))), c);
    assert.throws(() => validateActConfig({ level: 'L9' as never }), /level/);
    assert.throws(() => validateActConfig({ bits: 3 as never }), /bits/);
    assert.throws(() => validateActConfig({ rmm: { ratio: 0, kind: 'gaussian' } }), /rmm.ratio/);
    assert.throws(
      () => validateActConfig({ overrides: { a: { actBits: 5 as never } } }),
      /overrides.a.actBits/,
    );
    assert.throws(() => validateActConfig({ colour: 1 } as never), /colour/);
    assert.throws(() => validateActConfig({ perSample: 'yes' as never }), /perSample/);
    assert.throws(
      () => validateActConfig({ mixed: { avgBits: 2, everySteps: 10, perSample: true } as never }),
      /mixed: unknown field 'perSample' \(known: avgBits, everySteps\)/,
    );
  });
});
