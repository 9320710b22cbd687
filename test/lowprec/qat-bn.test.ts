import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { compress } from '../../src/compress/compress.js';
import { setIntegerKernels } from '../../src/compress/packed/int-kernel.js';
import { convertQat, finetuneQat, prepareQat, QatBnLayer } from '../../src/lowprec/index.js';
import { maxAbsDiff, saveAndLoad, useBackend } from '../helpers.js';
import { tinyData } from '../tiny-data.js';

/** conv (linear) -> BN -> relu -> flatten -> dense -> BN -> dense, with non-trivial BN state. */
function bnModel(): tf.LayersModel {
  const m = tf.sequential({
    layers: [
      tf.layers.conv2d({
        inputShape: [6, 6, 2],
        filters: 4,
        kernelSize: 3,
        name: 'c1',
        kernelInitializer: tf.initializers.glorotNormal({ seed: 1 }),
      }),
      tf.layers.batchNormalization({ name: 'bn1', momentum: 0.8 }),
      tf.layers.activation({ activation: 'relu' }),
      tf.layers.flatten(),
      tf.layers.dense({
        units: 5,
        useBias: false,
        name: 'd1',
        kernelInitializer: tf.initializers.glorotNormal({ seed: 2 }),
      }),
      tf.layers.batchNormalization({ name: 'bn2', momentum: 0.8, center: false }),
      tf.layers.dense({ units: 3, name: 'out' }),
    ],
  });
  // moving statistics far from the batch ones, so that an uncorrected fold shows
  const bn1 = m.getLayer('bn1');
  bn1.setWeights([tf.fill([4], 1.5), tf.fill([4], 0.2), tf.fill([4], 0.5), tf.fill([4], 4)]);
  return m;
}

const x = () => tf.randomNormal([16, 6, 6, 2], 0, 1, 'float32', 5);

describe('QAT freeze-then-fold batch norm', () => {
  it('before the freeze: batch norm with batch statistics on the folded fake-quant kernel; moving stats update', async () => {
    await useBackend('cpu');
    const model = bnModel();
    const p = await prepareQat(model, { bits: 8, batchNorm: 'freeze-then-fold' });
    assert.deepEqual(p.folded, ['bn1', 'bn2']);
    assert.ok(p.model.getLayer('c1') instanceof QatBnLayer);
    assert.ok(!p.model.layers.some((l) => l.getClassName() === 'BatchNormalization'));
    const xs = x();
    // the float reference: conv -> BN in training mode (batch statistics)
    const conv = model.getLayer('c1').apply(xs) as tf.Tensor;
    const { mean, variance } = tf.moments(conv, [0, 1, 2]);
    const [g, b] = model.getLayer('bn1').getWeights();
    const ref = tf.add(tf.mul(tf.div(tf.sub(conv, mean), tf.sqrt(tf.add(variance, 1e-3))), g), b);
    const layer = p.model.getLayer('c1') as QatBnLayer;
    const y = layer.apply(xs, { training: true }) as tf.Tensor;
    const scale = tf.max(tf.abs(ref)).dataSync()[0];
    // 8-bit folded kernel: close to the float batch norm, while the moving sigma (2 vs about 1)
    // would be off by a factor ~2 if it were not corrected away
    assert.ok(maxAbsDiff(y, ref) < 0.03 * scale, `train-mode vs BN: ${maxAbsDiff(y, ref)}`);
    const [, , , mm, mv, calls] = layer.getWeights().slice(1);
    const m0 = tf.add(tf.mul(0.5, 0.8), tf.mul(mean, 0.2));
    const v0 = tf.add(tf.mul(4, 0.8), tf.mul(variance, 0.2));
    assert.ok(maxAbsDiff(mm, m0) < 1e-5 && maxAbsDiff(mv, v0) < 1e-5, 'moving statistics');
    assert.equal(calls.dataSync()[0], 1);
    tf.dispose([xs, conv, mean, variance, ref, y, m0, v0]);
    model.dispose();
    p.model.dispose();
  });

  it('freezes after N steps, then the folded (converted) model matches the unfolded one; save/load, no leaks', async () => {
    await useBackend('cpu');
    const model = bnModel();
    const p = await prepareQat(model, {
      bits: 4,
      batchNorm: 'freeze-then-fold',
      freezeBatchNormAfter: 3,
      activations: { bits: 8 },
    });
    const data = tinyData([6, 6, 2], 96, 4);
    const ft = { batchSize: 16, learningRate: 1e-2, seed: 1 };
    finetuneQat(p.model, data, { ...ft, steps: 3 });
    const layer = p.model.getLayer('c1') as QatBnLayer;
    const stats = () =>
      layer
        .getWeights()
        .slice(4, 6)
        .map((w) => Array.from(w.dataSync()));
    const frozen = stats();
    const n0 = tf.memory().numTensors;
    const r = finetuneQat(p.model, data, { ...ft, steps: 4, seed: 2 });
    assert.equal(tf.memory().numTensors, n0, 'no leaks');
    assert.ok(r.losses.every(Number.isFinite));
    assert.deepEqual(stats(), frozen, 'moving statistics frozen after 3 steps');
    assert.equal(layer.trainingCalls(), 3);
    const xs = x();
    // frozen: training mode computes the folded layer, as inference does
    const yTrain = layer.apply(xs, { training: true }) as tf.Tensor;
    const yInf = layer.apply(xs) as tf.Tensor;
    assert.ok(maxAbsDiff(yTrain, yInf) === 0, 'after the freeze, train = inference');
    const unfolded = p.model.predict(xs) as tf.Tensor;
    const c = convertQat(p.model);
    assert.ok(!c.model.layers.some((l) => l.getClassName().includes('BatchNorm')));
    assert.ok(c.model.getLayer('c1').getClassName() === 'FrugalPackedConv2D');
    setIntegerKernels({ enabled: false });
    try {
      const folded = c.model.predict(xs) as tf.Tensor;
      assert.ok(
        maxAbsDiff(folded, unfolded) < 1e-5,
        `folded vs unfolded ${maxAbsDiff(folded, unfolded)}`,
      );
      const loaded = await saveAndLoad(p.model);
      assert.ok(maxAbsDiff(loaded.predict(xs) as tf.Tensor, unfolded) < 1e-6, 'QAT save/load');
      loaded.dispose();
      tf.dispose(folded);
    } finally {
      setIntegerKernels({ enabled: true });
    }
    // the unfolded float reference: conv with the trained float kernel, then inference BN with
    // the frozen statistics; 4-bit weights and 8-bit inputs keep it only close
    const [k, bias, gamma, beta, mm, mv] = layer.getWeights();
    const qin = p.model.getLayer('c1_act_quant').apply(xs) as tf.Tensor;
    const ref = tf.tidy(() =>
      tf.add(
        tf.mul(
          tf.div(
            tf.sub(tf.add(tf.conv2d(qin as tf.Tensor4D, k as tf.Tensor4D, 1, 'valid'), bias), mm),
            tf.sqrt(tf.add(mv, 1e-3)),
          ),
          gamma,
        ),
        beta,
      ),
    );
    const spread = tf.max(tf.abs(ref)).dataSync()[0];
    assert.ok(maxAbsDiff(yInf, ref) < 0.25 * spread, `vs float conv + BN ${maxAbsDiff(yInf, ref)}`);
    tf.dispose([xs, yTrain, yInf, unfolded, qin, ref]);
    for (const m of [model, p.model, c.model]) m.dispose();
  });

  it('bad batch-norm options name the field', async () => {
    await useBackend('cpu');
    const model = bnModel();
    await assert.rejects(
      prepareQat(model, { bits: 4, batchNorm: 'fold', foldBatchNorm: true }),
      /batchNorm or foldBatchNorm, not both/,
    );
    await assert.rejects(
      prepareQat(model, { bits: 4, freezeBatchNormAfter: 3 }),
      /freezeBatchNormAfter applies to batchNorm 'freeze-then-fold' only/,
    );
    await assert.rejects(
      prepareQat(model, { bits: 4, batchNorm: 'freeze-then-fold', freezeBatchNormAfter: 1.5 }),
      /freezeBatchNormAfter must be a non-negative integer/,
    );
    await assert.rejects(
      prepareQat(model, { bits: 4, batchNorm: 'later' as 'fold' }),
      /batchNorm must be 'fold', 'keep' or 'freeze-then-fold'/,
    );
    model.dispose();
  });

  it("compress method 'qat' with freezeBatchNormAfter trains freeze-then-fold and folds", async () => {
    await useBackend('cpu');
    const model = bnModel();
    const data = tinyData([6, 6, 2], 64, 4);
    const run = (options: Record<string, unknown>) =>
      compress(
        model,
        {
          version: 1,
          steps: [{ method: 'qat', options: { bits: 4, finetuneSteps: 3, ...options } }],
        },
        { data, measure: false, seed: 1 },
      );
    const r = await run({ freezeBatchNormAfter: 2 });
    assert.ok(!r.model.layers.some((l) => l.getClassName().includes('BatchNorm')));
    assert.ok(r.model.layers.some((l) => l.getClassName() === 'FrugalPackedConv2D'));
    r.model.dispose();
    await assert.rejects(
      run({ freezeBatchNormAfter: 2, foldBatchNorm: true }),
      /foldBatchNorm or freezeBatchNormAfter, not both/,
    );
    model.dispose();
  });
});
