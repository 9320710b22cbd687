// The bench's ResNet (batch norm, stride-2 and 1x1 shortcut convs) under MVUE 1:2 gradients: every
// conv and dense kernel gradient is unbiased over many draws, and the batch-norm parameters get
// exactly the dense gradient on every draw (the pruning touches weight-gradient products only:
// the input gradients, hence the batch-norm and shortcut paths, stay dense).
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { weightGrads } from '../../bench/lib/weight-grads.js';
import { makeRng, normal } from '../../src/engine/random.js';
import { buildResnet } from '../../src/models/resnet.js';
import { sparseGradModel } from '../../src/sparse/convert.js';
import { useBackend } from '../helpers.js';

describe('ResNet with MVUE 1:2 gradients (sparseGradModel)', () => {
  before(() => useBackend('cpu'));

  it('kernel gradients are unbiased; batch-norm gradients are the dense ones', () => {
    const model = buildResnet({
      inputShape: [8, 8, 1],
      numClasses: 4,
      widths: [4, 8],
      batchNormMomentum: 0.5,
      seed: 3,
    });
    const { model: sparse, converted } = sparseGradModel(
      model,
      { n: 1, m: 2, kind: 'mvue' },
      { seed: 9 },
    );
    assert.deepEqual(
      converted.map((c) => c.name).sort(),
      [
        'logits',
        's1b1_conv1',
        's1b1_conv2',
        's1b1_proj',
        's2b1_conv1',
        's2b1_conv2',
        's2b1_proj',
        'stem_conv',
      ]
        .filter((n) => model.layers.some((l) => l.name === n))
        .sort(),
    );
    const rng = makeRng(1);
    const x = tf.tensor4d(
      Float32Array.from({ length: 10 * 64 }, () => normal(rng)),
      [10, 8, 8, 1],
    );
    const y = tf.oneHot(tf.tensor1d([0, 1, 2, 3, 0, 1, 2, 3, 1, 2], 'int32'), 4);
    const dense = weightGrads(model, x, y);
    const draws = 300;
    const sum = new Map<string, Float64Array>();
    const sq = new Map<string, Float64Array>();
    weightGrads(sparse, x, y);
    const tensors = tf.memory().numTensors;
    for (let d = 0; d < draws; d++) {
      for (const [name, g] of weightGrads(sparse, x, y)) {
        if (!sum.has(name)) {
          sum.set(name, new Float64Array(g.length));
          sq.set(name, new Float64Array(g.length));
        }
        const s = sum.get(name) as Float64Array;
        const q = sq.get(name) as Float64Array;
        for (let i = 0; i < g.length; i++) {
          s[i] += g[i];
          q[i] += g[i] * g[i];
        }
        if (name.includes('_bn')) {
          const ref = dense.get(name) as Float32Array;
          for (let i = 0; i < g.length; i++)
            assert.ok(
              Math.abs(g[i] - ref[i]) <= 1e-5 * (1 + Math.abs(ref[i])),
              `${name}[${i}] is not the dense gradient`,
            );
        }
      }
    }
    assert.equal(tf.memory().numTensors, tensors, 'tensors leaked');
    let kernels = 0;
    for (const [name, s] of sum) {
      if (!name.endsWith('kernel')) continue;
      kernels++;
      const ref = dense.get(name) as Float32Array;
      const q = sq.get(name) as Float64Array;
      let z2 = 0;
      let noisy = 0;
      for (let i = 0; i < s.length; i++) {
        const mean = s[i] / draws;
        const v = (q[i] / draws - mean * mean) * (draws / (draws - 1));
        assert.ok(v > 0, `${name}[${i}]: the pruned gradient does not vary`);
        const z = (mean - ref[i]) / Math.sqrt(v / draws);
        assert.ok(Math.abs(z) < 5.5, `${name}[${i}]: mean ${mean}, dense ${ref[i]}, z ${z}`);
        z2 += z * z;
        noisy++;
      }
      // Unbiased: the mean squared z-score is about 1. The entries of one kernel are strongly
      // correlated (a few large dz groups drive them all), so it swings (0.55 to 2.1 over 300 or
      // 600 draws of one seed); a bias of 1/5 of a draw's sd per entry would put it near
      // 1 + 300 / 25 = 13.
      assert.ok(z2 / noisy < 3, `${name}: mean z^2 ${z2 / noisy}`);
    }
    assert.equal(kernels, converted.length);
    tf.dispose([x, y]);
    model.dispose();
    sparse.dispose();
  });
});
