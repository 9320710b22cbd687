import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import {
  chunkCount,
  chunkRange,
  RangeBatchNorm,
  rangeBnConstant,
} from '../../src/lowprec/index.js';
import { maxAbsDiff, saveAndLoad, useBackend } from '../helpers.js';

/** Standard normal CDF (Abramowitz-Stegun 7.1.26 erf, error < 1.5e-7). */
function phi(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * z);
  const poly =
    t *
    (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-z * z);
  return x >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}

/** E[max - min] of n standard normals: integral of 1 - F^n - (1 - F)^n. */
function gaussianRange(n: number): number {
  let s = 0;
  const h = 0.001;
  for (let x = -8; x < 8; x += h) {
    const f = phi(x + h / 2);
    s += (1 - f ** n - (1 - f) ** n) * h;
  }
  return s;
}

describe('Range BatchNorm', () => {
  it('chunkRange: value and gradient equal tfjs max - min on tie-free data', async () => {
    for (const backend of ['cpu', 'wasm']) {
      await useBackend(backend);
      const x = tf.randomNormal([3, 7, 4], 0, 1, 'float32', 2) as tf.Tensor3D;
      const dy = tf.randomNormal([3, 4], 0, 1, 'float32', 3) as tf.Tensor2D;
      const plain = (a: tf.Tensor) => tf.sub(tf.max(a, 1), tf.min(a, 1));
      const n0 = tf.memory().numTensors;
      const y1 = chunkRange(x);
      const g1 = tf.grad((a: tf.Tensor) => chunkRange(a as tf.Tensor3D))(x, dy);
      assert.equal(tf.memory().numTensors, n0 + 2, `${backend}: no leaks`);
      // (tfjs's own max/min with an axis leaves tensors behind on cpu: not counted.)
      const y2 = plain(x);
      const g2 = tf.grad(plain)(x, dy);
      assert.ok(maxAbsDiff(y1, y2) < 1e-6, `${backend}: value`);
      assert.ok(maxAbsDiff(g1, g2) < 1e-6, `${backend}: gradient`);
      tf.dispose([y1, y2, g1, g2, x, dy]);
    }
  });

  it('on Gaussian data normalises like batch norm within the estimator bias of C(n)', async () => {
    await useBackend('cpu');
    // 16384 rows in 256 chunks of 64, 4 channels with different means and deviations.
    const sigma = [0.5, 1, 2, 4];
    const x = tf.tidy(() =>
      tf.add(tf.mul(tf.randomNormal([16384, 4], 0, 1, 'float32', 11), sigma), [1, -2, 0, 3]),
    );
    const rbn = new RangeBatchNorm({ chunks: 256 });
    const bn = tf.layers.batchNormalization({ momentum: 0.99 });
    const yr = rbn.apply(x, { training: true }) as tf.Tensor;
    const yb = bn.apply(x, { training: true }) as tf.Tensor;
    const { scale } = rbn.batchStats(x);
    const s = scale.dataSync();
    const sd = tf.moments(x, 0).variance.sqrt().dataSync();
    // The estimator's known bias: C(64) * E[range of 64 Gaussians] / sigma, E[range] integrated
    // numerically (d2(64) = 4.68); the 256-chunk average has a spread of about 0.009.
    const expected = rangeBnConstant(64) * gaussianRange(64);
    assert.ok(Math.abs(gaussianRange(50) - 4.498) < 0.01, 'd2(50) from the tables');
    for (let c = 0; c < 4; c++) {
      const ratio = s[c] / sd[c];
      assert.ok(
        Math.abs(ratio - expected) < 0.04,
        `channel ${c}: scale/sd ${ratio}, expected ${expected}`,
      );
    }
    // Outputs: same as batch norm up to that per-channel factor; zero mean.
    const ratio = tf.tidy(() =>
      tf.div(tf.moments(yr, 0).variance.sqrt(), tf.moments(yb, 0).variance.sqrt()),
    );
    for (const r of ratio.dataSync())
      assert.ok(Math.abs(r - 1 / expected) < 0.06, `output sd ratio ${r}`);
    for (const m of tf.moments(yr, 0).mean.dataSync()) assert.ok(Math.abs(m) < 1e-4);
    tf.dispose([x, yr, yb, scale, ratio]);
  });

  it('gradients flow, running stats update, save/load, no leaks, bad chunks error', async () => {
    await useBackend('cpu');
    const model = tf.sequential({
      layers: [
        tf.layers.dense({ inputShape: [3], units: 4 }),
        new RangeBatchNorm({ chunks: 4, momentum: 0.5 }),
      ],
    });
    const x = tf.randomNormal([32, 3], 0, 1, 'float32', 3);
    tf.dispose(model.apply(x, { training: true }) as tf.Tensor);
    const n0 = tf.memory().numTensors;
    const { grads, value } = tf.variableGrads(
      () => tf.sum(tf.square(model.apply(x, { training: true }) as tf.Tensor)) as tf.Scalar,
    );
    const g = grads[model.layers[0].trainableWeights[0].originalName];
    assert.ok(
      g && tf.tidy(() => g.abs().sum().dataSync()[0]) > 0,
      'kernel gradient through Range BN',
    );
    tf.dispose([value, ...Object.values(grads)]);
    assert.equal(tf.memory().numTensors, n0, 'no leaks');
    const moving = model.layers[1].getWeights()[3].dataSync();
    assert.ok(
      moving.some((v) => Math.abs(v - 1) > 1e-3),
      'running scale moved',
    );
    const y = model.predict(x) as tf.Tensor;
    const loaded = await saveAndLoad(model);
    const y2 = loaded.predict(x) as tf.Tensor;
    assert.ok(tf.max(tf.abs(tf.sub(y, y2))).dataSync()[0] < 1e-6);
    assert.throws(
      () => new RangeBatchNorm({ chunks: 0 }),
      /chunks must be a positive integer, got 0/,
    );
    assert.throws(() => rangeBnConstant(1), /chunk size must be an integer >= 2/);
    // 12 rows and 5 chunks wanted: the largest even split is 4 chunks of 3 rows.
    assert.equal(chunkCount(12, 5), 4);
    assert.equal(chunkCount(7, 16), 1);
    assert.equal(chunkCount(1, 16), 0);
    const odd = new RangeBatchNorm({ chunks: 5 });
    const four = new RangeBatchNorm({ chunks: 4 });
    const z = tf.randomNormal([12, 2], 0, 1, 'float32', 4);
    const [s5, s4] = [odd.batchStats(z).scale, four.batchStats(z).scale];
    assert.deepEqual([...s5.dataSync()], [...s4.dataSync()]);
    assert.throws(
      () => odd.apply(tf.ones([1, 2]), { training: true }),
      /1 rows cannot be split into chunks of >= 2 rows/,
    );
    tf.dispose([x, y, y2, z, s5, s4]);
  });

  it('inference output matches the training output once the moving statistics converge', async () => {
    await useBackend('cpu');
    // A stationary Gaussian input: after enough training calls the moving mean/scale equal the
    // batch statistics up to their sampling spread, so inference (moving stats) and training
    // (batch stats) outputs on a fresh batch agree. An eval/train mismatch (a wrong moving-scale
    // update, a variance or an inverse scale stored where a scale is read) fails this.
    const sigma = [0.5, 2, 8];
    const shift = [3, -1, 0];
    const batch = (seed: number) =>
      tf.tidy(() =>
        tf.add(tf.mul(tf.randomNormal([4096, 3], 0, 1, 'float32', seed), sigma), shift),
      );
    const rbn = new RangeBatchNorm({ chunks: 16, momentum: 0.8 });
    for (let i = 0; i < 60; i++) {
      const x = batch(100 + i);
      tf.dispose(rbn.apply(x, { training: true }) as tf.Tensor);
      x.dispose();
    }
    const x = batch(7);
    const n0 = tf.memory().numTensors;
    const yTrain = rbn.apply(x, { training: true }) as tf.Tensor;
    const yInfer = rbn.apply(x, { training: false }) as tf.Tensor;
    assert.equal(tf.memory().numTensors, n0 + 2, 'no leaks');
    // Relative to the output's own spread (~1): the chunk-range scale of one batch varies by a
    // few percent, so outputs 3-4 sd out differ by about 0.1.
    const d = maxAbsDiff(yTrain, yInfer);
    assert.ok(d < 0.25, `inference vs training output: max |diff| ${d}`);
    const meanDiff = tf.tidy(() => tf.mean(tf.abs(tf.sub(yTrain, yInfer))).dataSync()[0]);
    assert.ok(meanDiff < 0.05, `inference vs training output: mean |diff| ${meanDiff}`);
    // The moving scale converged to the batch scale, not to the variance or its inverse.
    const moving = rbn.getWeights()[3].dataSync();
    const { scale, mean } = rbn.batchStats(x);
    const s = scale.dataSync();
    for (let c = 0; c < 3; c++)
      assert.ok(Math.abs(moving[c] / s[c] - 1) < 0.05, `channel ${c}: moving/batch scale`);
    tf.dispose([x, yTrain, yInfer, scale, mean]);
  });
});
