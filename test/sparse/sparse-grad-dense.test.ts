import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { makeRng, normal } from '../../src/engine/random.js';
import type { GradSparsity } from '../../src/sparse/mvue.js';
import { SparseGradDense, sparseGradMatMul } from '../../src/sparse/sparse-grad-dense.js';
import { assertMeanIs, assertMeanIsNot, drawMoments } from '../draw-moments.js';
import { maxAbsDiff, saveAndLoad, useBackend } from '../helpers.js';

function randn(shape: [number, number], seed: number): tf.Tensor2D {
  const rng = makeRng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(
    Float32Array.from({ length: n }, () => normal(rng)),
    shape,
  ) as tf.Tensor2D;
}

/** Per-entry mean and standard error of dW over `draws` masked backwards; dy = c fixed. */
function weightGradStats(spec: GradSparsity, draws: number) {
  const x = randn([10, 5], 1); // batch 10: groups of 4 plus a padded partial group
  const w = randn([5, 3], 2);
  const c = randn([10, 3], 3);
  const dense = tf.matMul(x, c, true, false).dataSync();
  const rng = makeRng(11);
  const g = tf.grad((wv: tf.Tensor) =>
    tf.sum(tf.mul(sparseGradMatMul(x, wv as tf.Tensor2D, spec, rng), c)),
  );
  const { mean, se } = drawMoments(draws, () => {
    const dw = g(w);
    const v = dw.dataSync();
    dw.dispose();
    return v;
  });
  tf.dispose([x, w, c]);
  return { dense: Array.from(dense), mean, se };
}

describe('SparseGradDense: N:M-masked weight gradient', () => {
  before(() => useBackend('cpu'));

  for (const kind of ['mvue', 'approx'] as const)
    it(`${kind} 2:4: the mean masked weight gradient equals the dense one (z-test)`, () => {
      const { dense, mean, se } = weightGradStats({ n: 2, m: 4, kind }, 400);
      assertMeanIs({ mean, se }, dense);
    });

  it('magnitude 2:4 is biased: the same test finds a far-off mean', () => {
    const { dense, mean } = weightGradStats({ n: 2, m: 4, kind: 'magnitude' }, 3);
    assertMeanIsNot(mean, dense, 0.1);
  });

  it('forward equals Dense; input gradient is dense unless pruneInputGrad; no leaks', async () => {
    const spec = { n: 1, m: 2, kind: 'mvue' } as const;
    const layer = new SparseGradDense({ units: 3, gradSparsity: spec, seed: 5, inputShape: [4] });
    const model = tf.sequential({ layers: [layer] });
    const x = randn([6, 4], 9);
    const y = model.predict(x) as tf.Tensor;
    const [kernel, bias] = layer.getWeights();
    const ref = tf.add(tf.matMul(x, kernel as tf.Tensor2D), bias);
    assert.ok(maxAbsDiff(y, ref) < 1e-5);
    const c = randn([6, 3], 10);
    const dxOf = (m: tf.LayersModel) =>
      tf.grad((xv: tf.Tensor) => tf.sum(tf.mul(m.apply(xv) as tf.Tensor, c)))(x);
    const dx = dxOf(model);
    const dxRef = tf.matMul(c, kernel as tf.Tensor2D, false, true);
    assert.ok(maxAbsDiff(dx, dxRef) < 1e-5);
    const pruned = new SparseGradDense({
      units: 3,
      gradSparsity: spec,
      pruneInputGrad: true,
      inputShape: [4],
    });
    const pm = tf.sequential({ layers: [pruned] });
    pruned.setWeights([kernel, bias]);
    const dxPruned = dxOf(pm);
    assert.ok(maxAbsDiff(dxPruned, dxRef) > 1e-3, 'pruneInputGrad left dx dense');
    dxPruned.dispose();
    const step = () => {
      const { value, grads } = tf.variableGrads(
        () => tf.sum(tf.mul(model.apply(x) as tf.Tensor, c)) as tf.Scalar,
      );
      value.dispose();
      tf.dispose(Object.values(grads));
    };
    step();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) step();
    assert.equal(tf.memory().numTensors, before);
    const loaded = await saveAndLoad(model);
    const l2 = loaded.layers[0] as SparseGradDense;
    assert.ok(l2 instanceof SparseGradDense);
    assert.deepEqual(l2.gradSparsity, spec);
    const y2 = loaded.predict(x) as tf.Tensor;
    assert.ok(maxAbsDiff(y2, y) < 1e-6);
    tf.dispose([x, y, ref, c, dx, dxRef, y2]);
  });

  it('refuses bad gradSparsity naming the field', () => {
    assert.throws(
      () => new SparseGradDense({ units: 2, gradSparsity: { n: 4, m: 2, kind: 'mvue' } }),
      /gradSparsity: n: n \(4\) must not exceed m \(2\)/,
    );
  });
});
