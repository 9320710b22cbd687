import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { decomposeModel } from '../../../src/compress/decompose/decompose-model.js';
import { TtmDense, ttmContract } from '../../../src/compress/decompose/ttm-dense.js';
import { ttmReplacement } from '../../../src/compress/decompose/ttm-layers.js';
import { buildModel } from '../../../src/models/zoo.js';
import { maxAbsDiff, useBackend } from '../../helpers.js';
import { assertLossFallsWithoutLeaks } from '../../step-losses.js';
import { tinyTransformer } from '../../tiny-models.js';

/**
 * W [m1 m2 m3, n1 n2 n3] from three cores by plain tfjs ops (forms the full matrix). The cores
 * are copied first (mul by 1): tfjs-backend-wasm 4.22 crashes ('memory access out of bounds')
 * when one buffer is the B operand of matMul under two different 2-D shapes, as the reshapes
 * here and in ttmContract would be.
 */
function assemble(cores: tf.Tensor[]): tf.Tensor2D {
  const [g1, g2, g3] = cores.map((c) => tf.mul(c, 1));
  const [, m1, n1, r1] = g1.shape;
  const [, m2, n2, r2] = g2.shape;
  const [, m3, n3] = g3.shape;
  const t12 = tf
    .matMul(g1.reshape([m1 * n1, r1]), g2.reshape([r1, m2 * n2 * r2]))
    .reshape([m1, n1, m2, n2 * r2])
    .transpose([0, 2, 1, 3]); // [m1, m2, n1, n2 r2]
  return tf
    .matMul(t12.reshape([m1 * m2 * n1 * n2, r2]), g3.reshape([r2, m3 * n3]))
    .reshape([m1 * m2, n1 * n2, m3, n3])
    .transpose([0, 2, 1, 3])
    .reshape([m1 * m2 * m3, n1 * n2 * n3]) as tf.Tensor2D;
}

const inF = [2, 3, 4];
const outF = [3, 2, 2];
const shapes = [
  [1, 2, 3, 3],
  [3, 3, 2, 2],
  [2, 4, 2, 1],
];

describe('TT-matrix contraction', () => {
  for (const backend of ['cpu', 'wasm']) {
    it(`${backend}: forward and gradients (input and cores) match the dense equivalent`, async () => {
      await useBackend(backend);
      const cores = shapes.map((s, i) => tf.randomNormal(s, 0, 1, 'float32', 10 + i));
      const x = tf.randomNormal([5, 24], 0, 1, 'float32', 1);
      const g = tf.randomNormal([5, 12], 0, 1, 'float32', 2);
      const viaTtm = (xx: tf.Tensor, cs: tf.Tensor[]) =>
        tf.sum(tf.mul(ttmContract(xx, cs, inF, outF), g));
      const viaDense = (xx: tf.Tensor, cs: tf.Tensor[]) =>
        tf.sum(tf.mul(tf.matMul(xx as tf.Tensor2D, assemble(cs)), g));
      const yDense = tf.matMul(x, assemble(cores));
      const yScale = tf.max(tf.abs(yDense)).dataSync()[0];
      const yErr = maxAbsDiff(ttmContract(x, cores, inF, outF), yDense);
      assert.ok(yErr < 1e-5 * yScale, `forward error ${yErr} at scale ${yScale}`);
      const n = cores.length;
      const gradsTtm = tf.grads((...a: tf.Tensor[]) => viaTtm(a[0], a.slice(1)))([x, ...cores]);
      const gradsDense = tf.grads((...a: tf.Tensor[]) => viaDense(a[0], a.slice(1)))([x, ...cores]);
      for (let i = 0; i <= n; i++) {
        const scale = tf.max(tf.abs(gradsDense[i])).dataSync()[0];
        assert.ok(maxAbsDiff(gradsTtm[i], gradsDense[i]) < 1e-5 * scale, `gradient ${i}`);
      }
      // Calling the gradient twice gives the same values.
      const again = tf.grads((...a: tf.Tensor[]) => viaTtm(a[0], a.slice(1)))([x, ...cores]);
      assert.equal(maxAbsDiff(again[0], gradsTtm[0]), 0);
      tf.dispose([...cores, x, g, yDense, ...gradsTtm, ...gradsDense, ...again]);
    });
  }
});

describe('TtmDense layer', () => {
  it('initialised by TT-SVD at full rank reproduces the trained Dense layer', async () => {
    await useBackend('cpu');
    const model = tf.sequential();
    model.add(tf.layers.dense({ inputShape: [24], units: 12, activation: 'relu', name: 'fc' }));
    const dense = model.layers[0];
    dense.setWeights([
      tf.randomNormal([24, 12], 0, 1, 'float32', 3),
      tf.randomNormal([12], 0, 1, 'float32', 4),
    ]);
    const rep = ttmReplacement(dense, {
      method: 'ttm',
      rank: 100,
      inFactors: inF,
      outFactors: outF,
    });
    assert.ok(rep.report.relativeError < 1e-6);
    const layer = rep.layers[0] as TtmDense;
    const x = tf.randomNormal([4, 24], 0, 1, 'float32', 5);
    const y = layer.apply(x) as tf.Tensor;
    assert.ok(maxAbsDiff(y, dense.apply(x) as tf.Tensor) < 1e-4);
    assert.equal(layer.countParams(), rep.report.paramsAfter);
    tf.dispose(rep.initialWeights);
  });

  it('rejects factors that do not match the input width', async () => {
    await useBackend('cpu');
    assert.throws(
      () => new TtmDense({ inFactors: [2, 3], outFactors: [2, 2, 1], ranks: 2 }),
      /same length/,
    );
    const l = new TtmDense({ inFactors: [2, 3], outFactors: [2, 2], ranks: 2 });
    assert.throws(
      () => l.apply(tf.zeros([1, 7])),
      /input width 7 is not the product of inFactors \[2,3\] = 6/,
    );
  });

  it('replaces the Dense layers of a Transformer (rank-3 inputs) exactly at full rank', async () => {
    await useBackend('wasm');
    const model = tinyTransformer(4, [6, 4]);
    const { model: d, report } = decomposeModel(model, { method: 'ttm', rank: 100, ttmCores: 2 });
    assert.ok(report.layers.length >= 3);
    const x = tf.randomNormal([2, 6, 4], 0, 1, 'float32', 6);
    assert.ok(maxAbsDiff(model.predict(x) as tf.Tensor, d.predict(x) as tf.Tensor) < 1e-4);
  });

  it('an MLP with TTM layers trains on wasm without leaking tensors', async () => {
    await useBackend('wasm');
    const model = buildModel('mlp', { inputShape: [36], numClasses: 4, hidden: [24], seed: 5 });
    const { model: d } = decomposeModel(model, {
      method: 'ttm',
      ratio: 0.5,
      layers: { logits: { skip: true } },
    });
    const ctx = { model: d, optimizer: tf.train.adam(0.01) };
    const labels = Int32Array.from({ length: 16 }, (_, i) => i % 4);
    const b = {
      xs: tf.randomNormal([16, 36], 0, 1, 'float32', 8),
      ys: tf.oneHot(tf.tensor1d(labels, 'int32'), 4) as tf.Tensor2D,
      labels,
      size: 16,
    };
    assertLossFallsWithoutLeaks(ctx, b, 5);
    tf.dispose([b.xs, b.ys]);
  });
});
