import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { compress } from '../../src/compress/compress.js';
import { type CompressConfig, validateCompressConfig } from '../../src/compress/config.js';
import { asKernelLayer } from '../../src/compress/packed/layer-kernels.js';
import { isTransposableNMMask } from '../../src/compress/sparsity/transposable.js';
import { syntheticClassification } from '../../src/data/synthetic.js';
import { buildModel } from '../../src/models/zoo.js';
import { train } from '../../src/train/loop.js';
import { BACKENDS, maxAbsDiff, saveAndLoad, useBackend } from '../helpers.js';
import { tinyData } from '../tiny-data.js';

const data = tinyData([64], 256, 3, { numClasses: 4 });

async function trainedMlp() {
  const model = buildModel('mlp', { inputShape: [64], numClasses: 4, hidden: [128, 32], seed: 1 });
  await train(model, data, { epochs: 3, batchSize: 32, learningRate: 5e-3, measureMemory: false });
  return model;
}

describe('compress config', () => {
  const config: CompressConfig = {
    version: 1,
    steps: [
      { method: 'nm', options: { n: 2, m: 4 }, layers: { logits: 'skip' } },
      { method: 'int4', options: { granularity: 'channel' }, layers: { dense1: { bits: 8 } } },
    ],
  };
  it('survives a JSON round trip unchanged', () => {
    const back = validateCompressConfig(JSON.parse(JSON.stringify(config)));
    assert.deepEqual(back, validateCompressConfig(config));
    assert.deepEqual(JSON.parse(JSON.stringify(back)), back);
  });
  const bad: [unknown, RegExp][] = [
    [{ steps: [] }, /version must be 1, got undefined/],
    [{ version: 2, steps: [{ method: 'int8' }] }, /version must be 1, got 2/],
    [{ version: 1, steps: [] }, /steps must be a non-empty array/],
    [{ version: 1, steps: [{ method: 'zip' }] }, /unknown compression method 'zip'/],
    [
      { version: 1, steps: [{ method: 'int4', options: { bits: 9 } }] },
      /steps\[0\] \(int4\) options: bits must be an integer from 2 to 8, got 9/,
    ],
    [{ version: 1, steps: [{ method: 'int4', options: { bitz: 3 } }] }, /unknown option 'bitz'/],
    [
      { version: 1, steps: [{ method: 'nm', options: { n: 4, m: 4 } }] },
      /N must be an integer from 1 to M-1/,
    ],
    [
      { version: 1, steps: [{ method: 'int8', layers: { d: { scheme: 'log' } } }] },
      /layers\.d: scheme must be one of symmetric, affine/,
    ],
    [{ version: 1, steps: [{ method: 'int8', extra: 1 }] }, /unknown field 'extra'/],
  ];
  for (const [raw, message] of bad) {
    it(`rejects ${JSON.stringify(raw)}`, () =>
      assert.throws(() => validateCompressConfig(raw), message));
  }
});

describe('compress', () => {
  for (const backend of BACKENDS) {
    it(`composes N:M then int4 with per-layer overrides, shrinks the file, keeps accuracy (${backend})`, async () => {
      await useBackend(backend);
      const model = await trainedMlp();
      const before = tf.memory().numTensors;
      const { model: small, report } = await compress(
        model,
        {
          version: 1,
          steps: [
            { method: 'nm', options: { n: 2, m: 4 }, layers: { logits: 'skip' } },
            { method: 'int4', layers: { logits: { bits: 8 } } },
          ],
        },
        { data },
      );
      const a = report.after!;
      const b = report.before!;
      assert.ok(a.fileBytes < b.fileBytes * 0.5, `${a.fileBytes} vs ${b.fileBytes}`);
      assert.ok(a.weightBytes < b.weightBytes * 0.2, `${a.weightBytes} vs ${b.weightBytes}`);
      assert.ok(a.accuracy! > b.accuracy! - 0.1, `${a.accuracy} vs ${b.accuracy}`);
      assert.ok(a.outputSqnrDb! > 5);
      assert.equal(small.getLayer('dense1').getClassName(), 'FrugalPackedDense');
      assert.match(report.steps[1].layers.logits, /int8/);
      assert.match(report.steps[0].layers.dense1, /2:4/);
      assert.equal(report.steps[0].layers.logits, undefined);
      const d1 = a.layers.find((l) => l.name === 'dense1')!;
      assert.equal(d1.flops, b.layers.find((l) => l.name === 'dense1')!.flops / 2);
      small.dispose();
      assert.ok(tf.memory().numTensors <= before, 'compress leaves no tensors behind');
      await assert.rejects(
        compress(model, { version: 1, steps: [{ method: 'int8', layers: { nope: 'skip' } }] }),
        /layer override 'nope' names no layer of the model/,
      );
    });
  }
  it('composes low-rank, then int4, then 2:4; the result saves and loads', async () => {
    await useBackend('cpu');
    const model = await trainedMlp();
    const { model: small, report } = await compress(
      model,
      {
        version: 1,
        steps: [
          {
            method: 'lowrank',
            layers: { dense1: { method: 'svd', rank: 16 }, dense2: 'skip', logits: 'skip' },
          },
          { method: 'int4' },
          { method: 'nm', layers: { logits: 'skip' } },
        ],
      },
      { data },
    );
    const names = small.layers.map((l) => l.name);
    assert.ok(names.includes('dense1_svd_in') && names.includes('dense1_svd_out'), names.join());
    const packed = small.getLayer('dense1_svd_in').getConfig();
    assert.deepEqual(packed.codec, {
      bits: 4,
      scheme: 'symmetric',
      granularity: 'channel',
      n: 2,
      m: 4,
    });
    assert.match(report.steps[0].layers.dense1_svd_in, /svd rank 16/);
    assert.ok(report.after!.weightBytes < report.before!.weightBytes * 0.1);
    assert.ok(report.after!.accuracy! > report.before!.accuracy! - 0.15);
    const loaded = await saveAndLoad(small);
    const x = tf.randomNormal([3, 64], 0, 1, 'float32', 1);
    assert.ok(maxAbsDiff(small.predict(x) as tf.Tensor, loaded.predict(x) as tf.Tensor) === 0);
  });
  it('packs transposable 2:4 masks that stay valid in both directions after packing', async () => {
    await useBackend('cpu');
    const model = await trainedMlp();
    const { model: small, report } = await compress(
      model,
      { version: 1, steps: [{ method: 'nm', options: { transposable: true, solver: 'greedy' } }] },
      { measure: false },
    );
    for (const name of ['dense1', 'dense2', 'logits']) {
      const k = asKernelLayer(small.getLayer(name))!;
      const mask = k.kernel().map((v) => (v !== 0 ? 1 : 0));
      assert.ok(isTransposableNMMask(mask, k.kernelShape, 2, 4), name);
      assert.match(
        report.steps[0].layers[name],
        /transposable \(greedy, \d+\/\d+ blocks repaired\)/,
      );
    }
  });
  it('AdaQuant and mixed bits run on calibration data; mixed respects the budget', async () => {
    await useBackend('cpu');
    const model = await trainedMlp();
    const { report } = await compress(
      model,
      {
        version: 1,
        steps: [{ method: 'mixed', options: { budgetRatio: 0.2, candidates: [8, 4, 2] } }],
      },
      { data },
    );
    assert.match(report.steps[0].layers['(allocation)'], /budget/);
    const weights = report.after!.weightBytes;
    assert.ok(weights <= report.before!.weightBytes * 0.2 + 64, `${weights}`);
    const ada = await compress(
      model,
      { version: 1, steps: [{ method: 'adaquant', options: { bits: 2, steps: 50 } }] },
      { data, measure: false },
    );
    assert.match(ada.report.steps[0].layers.dense1, /AdaQuant mse/);
  });
  it('warns when a step changes nothing (fold-bn without batch norm, embedding without embeddings)', async () => {
    await useBackend('cpu');
    const model = buildModel('mlp', { inputShape: [8], numClasses: 3, hidden: [8], seed: 1 });
    const { model: out, report } = await compress(
      model,
      { version: 1, steps: [{ method: 'fold-bn' }, { method: 'embedding' }, { method: 'int8' }] },
      { measure: false },
    );
    assert.equal(report.warnings.length, 2, report.warnings.join('\n'));
    assert.match(
      report.warnings[0],
      /^steps\[0\] \(fold-bn\) changed nothing: it acts on a BatchNormalization/,
    );
    assert.match(
      report.warnings[1],
      /^steps\[1\] \(embedding\) changed nothing: it acts on Embedding layers/,
    );
    const skipped = await compress(
      model,
      { version: 1, steps: [{ method: 'int8', layers: { dense1: 'skip', logits: 'skip' } }] },
      { measure: false },
    );
    assert.match(skipped.report.warnings[0], /^steps\[0\] \(int8\) changed nothing/);
    out.dispose();
    skipped.model.dispose();
  });
  it('lowrank by default keeps the output layer; a large loss of quality is warned about, with or without data', async () => {
    await useBackend('cpu');
    const model = await trainedMlp();
    const safe = await compress(model, { version: 1, steps: [{ method: 'lowrank' }] }, { data });
    assert.equal(safe.model.getLayer('logits').getClassName(), 'Dense');
    assert.match(safe.report.steps[0].layers.logits, /skipped: output layer/);
    assert.match(safe.report.steps[0].layers.dense1_svd_in, /svd rank/);
    safe.model.dispose();
    const head = {
      version: 1 as const,
      steps: [
        {
          method: 'lowrank',
          layers: { dense1: 'skip' as const, dense2: 'skip' as const, logits: { rank: 1 } },
        },
      ],
    };
    const noData = await compress(model, head);
    assert.ok(noData.report.after.outputSqnrDb! < 10, `${noData.report.after.outputSqnrDb}`);
    assert.equal(noData.report.warnings.length, 1);
    assert.match(
      noData.report.warnings[0],
      /output SQNR against the original is -?[\d.]+ dB on 32 random normal inputs \(no data given\), below 10 dB/,
    );
    noData.model.dispose();
    const withData = await compress(model, head, { data });
    const drop = withData.report.before.accuracy! - withData.report.after.accuracy!;
    assert.ok(drop > 0.02, `${drop}`);
    assert.match(
      withData.report.warnings[0],
      /^accuracy fell from [\d.]+% to [\d.]+% on 128 test samples/,
    );
    withData.model.dispose();
    const int8 = await compress(model, { version: 1, steps: [{ method: 'int8' }] });
    assert.deepEqual(int8.report.warnings, []);
    int8.model.dispose();
  });
  it('types configs and reports: a config needs version and steps, an unmeasured run has no before/after', async () => {
    await useBackend('cpu');
    const model = buildModel('mlp', { inputShape: [8], numClasses: 3, hidden: [8], seed: 1 });
    // @ts-expect-error a config without version and steps does not compile
    await assert.rejects(compress(model, {}), /version must be 1, got undefined/);
    const r = await compress(
      model,
      { version: 1, steps: [{ method: 'int8' }] },
      { measure: false },
    );
    // @ts-expect-error an unmeasured report has no before/after
    assert.equal(r.report.before, undefined);
    r.model.dispose();
  });
  it('rejects data, calibration and evaluation sets that do not fit the model, naming them', async () => {
    await useBackend('cpu');
    const model = buildModel('mlp', { inputShape: [8], numClasses: 3, hidden: [8], seed: 1 });
    const int8: CompressConfig = { version: 1, steps: [{ method: 'int8' }] };
    const before = tf.memory().numTensors;
    await assert.rejects(
      compress(model, int8, { data }),
      /compress: data 'synthetic' has samples \[64\] but the model expects \[8\]/,
    );
    const wrongClasses = syntheticClassification({
      sampleShape: [8],
      numClasses: 5,
      trainCount: 8,
      testCount: 8,
    });
    await assert.rejects(
      compress(model, int8, { data: wrongClasses }),
      /data 'synthetic' has 5 classes but the model outputs 3/,
    );
    const xs = tf.zeros([4, 9]);
    await assert.rejects(
      compress(model, int8, { calibration: xs }),
      /compress: calibration has samples \[9\] but the model expects \[8\]/,
    );
    const ok = tf.zeros([4, 8]);
    await assert.rejects(
      compress(model, int8, { evaluation: { xs: ok, labels: Int32Array.from([0, 1]) } }),
      /compress: evaluation has 4 inputs but 2 labels/,
    );
    tf.dispose([xs, ok]);
    assert.equal(tf.memory().numTensors, before);
  });
});
