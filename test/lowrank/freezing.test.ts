import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { decomposeModel } from '../../src/compress/decompose/decompose-model.js';
import { factorPairs, phaseOptimizers, sequentialFreezing } from '../../src/lowrank/freezing.js';
import { applyStep, computeGradients } from '../../src/train/gradients.js';
import { lossByName } from '../../src/train/loss.js';
import { seededMlp } from '../tiny-models.js';

function mlp(): tf.LayersModel {
  return seededMlp(12, [
    [16, 'h1'],
    [16, 'h2'],
    [3, 'out'],
  ]);
}

function kernelCount(f: () => void): Promise<{ matMuls: number; all: number }> {
  return tf.profile(f).then((p) => ({
    matMuls: p.kernels.filter((k) => k.name === '_FusedMatMul' || k.name === 'BatchMatMul').length,
    all: p.kernels.length,
  }));
}

test('sequential freezing: frozen factors get no gradient (their dW is never computed), the input gradient still flows', async () => {
  const base = mlp();
  const { model, report } = decomposeModel(base, {
    method: 'svd',
    rank: 4,
    layers: { out: { skip: true } },
  });
  const pairs = factorPairs(report);
  assert.deepEqual(
    pairs.map((p) => [p.first, p.last]),
    [
      ['h1_svd_in', 'h1_svd_out'],
      ['h2_svd_in', 'h2_svd_out'],
    ],
  );
  const sched = sequentialFreezing(model, pairs, { period: 2 });
  assert.deepEqual(
    [0, 1, 2, 3, 4].map((s) => sched.trainedAt(s)),
    ['last', 'last', 'first', 'first', 'last'],
  );
  const xs = tf.randomNormal([8, 12], 0, 1, 'float32', 4);
  const ys = tf.oneHot(tf.tensor1d([0, 1, 2, 0, 1, 2, 0, 1], 'int32'), 3).toFloat();
  const loss = lossByName('logits');
  const forward = (x: tf.Tensor, training: boolean) => model.apply(x, { training }) as tf.Tensor;
  const all = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const before = tf.memory().numTensors;
  const full = tf.tidy(() => computeGradients({ variables: all, forward, loss }, { xs, ys }).grads);
  const step0 = tf.tidy(
    () => computeGradients(sched.contextAt(0, { forward, loss }), { xs, ys }).grads,
  );
  const frozen = sched.frozenAt(0);
  assert.deepEqual(frozen, ['h1_svd_in', 'h2_svd_in']);
  for (const name of Object.keys(full)) {
    const isFrozen = frozen.some((f) => name.startsWith(`${f}/`));
    assert.equal(name in step0, !isFrozen, `${name} in the frozen step's gradients`);
    // what is trained gets exactly the gradient of the full pass: the input gradient flows
    // through the frozen h2_svd_in into h1_svd_out
    if (!isFrozen) {
      const d = tf.tidy(() => tf.max(tf.abs(tf.sub(full[name], step0[name]))).dataSync()[0]);
      assert.ok(d < 1e-6, `${name}: ${d}`);
    }
  }
  assert.ok('h1_svd_out/kernel' in step0 && 'h1_svd_out/bias' in step0);
  tf.dispose([full, step0]);
  assert.equal(tf.memory().numTensors, before);
  // the frozen factors' weight-gradient products are not run: h2_svd_in's dW, and for the first
  // layer h1_svd_in both dW and dx (nothing before it trains): 3 fewer matmuls
  const countFull = await kernelCount(() => {
    tf.tidy(() => computeGradients({ variables: all, forward, loss }, { xs, ys }).value);
  });
  const countFrozen = await kernelCount(() => {
    tf.tidy(() => computeGradients(sched.contextAt(0, { forward, loss }), { xs, ys }).value);
  });
  assert.equal(
    countFull.matMuls - countFrozen.matMuls,
    3,
    JSON.stringify({ countFull, countFrozen }),
  );
  // training across phase switches with Adam: one optimizer per phase (a shared Adam would pair
  // its slots with the wrong variables when the set changes), frozen weights stay put
  const opts = phaseOptimizers(sched, () => tf.train.adam(0.01));
  for (let s = 0; s < 6; s++) {
    const frozenNow = sched
      .frozenAt(s)
      .map((n) => model.getLayer(n).getWeights()[0].dataSync().slice());
    const v = applyStep(sched.contextAt(s, { forward, loss }), opts.at(s), { xs, ys });
    v.dispose();
    for (const [k, n] of sched.frozenAt(s).entries())
      assert.deepEqual(model.getLayer(n).getWeights()[0].dataSync(), frozenNow[k]);
  }
  assert.notEqual(opts.at(0), opts.at(2));
  opts.dispose();
  tf.dispose([xs, ys]);
});

test('sequential freezing: bad input', () => {
  const m = mlp();
  assert.throws(() => sequentialFreezing(m, []), /no decomposed pairs/);
  assert.throws(
    () => sequentialFreezing(m, [{ layer: 'h1', first: 'h1_svd_in', last: 'h1_svd_out' }]),
    /layer h1_svd_in \(a factor of h1\) is not in the model/,
  );
  const { model, report } = decomposeModel(m, {
    method: 'svd',
    rank: 4,
    layers: { out: { skip: true } },
  });
  assert.throws(() => sequentialFreezing(model, factorPairs(report), { period: 0 }), /period/);
  const pairs = factorPairs(report);
  assert.throws(() => sequentialFreezing(model, pairs, { start: 'middle' as 'first' }), /start/);
  assert.throws(
    () => sequentialFreezing(model, pairs, { periods: 3 } as never),
    /unknown field 'periods'/,
  );
  assert.throws(
    () => sequentialFreezing(model, [{ layer: 'h1', first: 'h1_svd_in', last: 'h1_svd_in' }]),
    /the pair of h1 has one layer \(h1_svd_in\) as both factors/,
  );
  assert.throws(
    () =>
      sequentialFreezing(model, [
        pairs[0],
        { layer: 'h2', first: pairs[0].last, last: 'h2_svd_out' },
      ]),
    /layer h1_svd_out is a factor of both h1 and h2/,
  );
  // a layer with no trainable weights: freezing it would change nothing
  const frozen = model.getLayer('h2_svd_in');
  frozen.trainable = false;
  assert.throws(
    () => sequentialFreezing(model, pairs),
    /layer h2_svd_in \(a factor of h2\) has no trainable weights, so freezing it would change nothing/,
  );
  frozen.trainable = true;
  const sched = sequentialFreezing(model, pairs, { period: 2 });
  assert.throws(() => sched.trainedAt(-1), /step must be a non-negative integer, got -1/);
  assert.throws(() => sched.variablesAt(1.5), /step must be a non-negative integer, got 1.5/);
  const shared = tf.train.adam(1e-3);
  const opts = phaseOptimizers(sched, () => shared);
  opts.at(0);
  assert.throws(
    () => opts.at(2),
    /make\(\) returned the optimizer of phase 'last' again for phase 'first'/,
  );
  shared.dispose();
});
