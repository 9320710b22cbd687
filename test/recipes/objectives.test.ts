import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { makeRng } from '../../src/engine/random.js';
import { buildModel } from '../../src/models/zoo.js';
import {
  Celu,
  cayley,
  celu,
  celuComposite,
  celuKernel,
  celuKernelActive,
  complementEntropy,
  complementLoss,
  cotHooks,
  invertMatrix,
  type OptDense,
  optHooks,
  optLayers,
  useCelu,
  useOpt,
  weightDecayHooks,
} from '../../src/recipes/index.js';
import { applyStep, type GradientContext, trainableVariables } from '../../src/train/gradients.js';
import { train } from '../../src/train/loop.js';
import { lossByName } from '../../src/train/loss.js';
import { maxAbsDiff, saveAndLoad } from '../helpers.js';
import { tinyData } from '../tiny-data.js';
import { tinyCnn } from '../tiny-models.js';

const K = 5;

function probsWithUniformWrong(pg: number[], target: number[]): tf.Tensor2D {
  const rows = pg.map((p, i) =>
    Array.from({ length: K }, (_, j) => (j === target[i] ? p : (1 - p) / (K - 1))),
  );
  return tf.tensor2d(rows);
}

function tinyMlp(seed: number, hidden = [12]): tf.LayersModel {
  return buildModel('mlp', { inputShape: [4, 4, 1], numClasses: 3, hidden, seed });
}

describe('recipes: complement objective training', () => {
  it('complement entropy reaches its minimum -log(K-1)/K at uniform wrong-class probabilities', () => {
    const target = [0, 3, 4, 1];
    const ys = tf.oneHot(tf.tensor1d(target, 'int32'), K);
    const pg = [0.1, 0.5, 0.9, 0.3];
    const atUniform = complementEntropy(ys, probsWithUniformWrong(pg, target)).dataSync()[0];
    const min = -Math.log(K - 1) / K;
    assert.ok(Math.abs(atUniform - min) < 1e-6, `${atUniform} vs ${min}`);
    // Any other split of the same wrong-class mass gives a larger value.
    const rng = makeRng(3);
    for (let t = 0; t < 20; t++) {
      const rows = pg.map((p, i) => {
        const w = Array.from({ length: K - 1 }, () => rng() + 0.05);
        const s = w.reduce((a, b) => a + b, 0);
        let k = 0;
        return Array.from({ length: K }, (_, j) => (j === target[i] ? p : ((1 - p) * w[k++]) / s));
      });
      const v = complementEntropy(ys, tf.tensor2d(rows)).dataSync()[0];
      assert.ok(v > min, `trial ${t}: ${v} <= ${min}`);
    }
  });

  it('its gradient through softmax matches central finite differences and vanishes at the minimum', () => {
    const loss = complementLoss(lossByName('logits'));
    const ys = tf.oneHot(tf.tensor1d([2, 0], 'int32'), K);
    const logits0 = [0.3, -1.2, 0.8, 0.1, 0.5, 1.1, -0.4, 0.2, 0.9, -0.7];
    const f = (l: number[]) => loss.mean(ys, tf.tensor2d(l, [2, K])).dataSync()[0];
    const g = tf
      .grad((x: tf.Tensor) => loss.mean(ys, x))(tf.tensor2d(logits0, [2, K]))
      .dataSync();
    const eps = 1e-2;
    for (let i = 0; i < logits0.length; i++) {
      const up = logits0.slice();
      const dn = logits0.slice();
      up[i] += eps;
      dn[i] -= eps;
      const fd = (f(up) - f(dn)) / (2 * eps);
      assert.ok(Math.abs(fd - g[i]) < 2e-3, `logit ${i}: autodiff ${g[i]} vs fd ${fd}`);
    }
    // Equal wrong-class logits: the minimum, so the gradient is zero (whatever the target's).
    const flat = tf.tensor2d([0, 0, 2.5, 0, 0, -1, 0.7, 0.7, 0.7, 0.7], [2, K]);
    const g0 = tf
      .grad((x: tf.Tensor) => loss.mean(ys, x))(flat)
      .dataSync();
    assert.ok(Math.max(...g0.map(Math.abs)) < 1e-6, `gradient at the minimum: ${g0}`);
  });

  it('the COT step is a cross-entropy SGD step, then a complement step at the new weights', () => {
    const model = tinyMlp(5);
    const twin = tinyMlp(5);
    const ctx: GradientContext = {
      variables: trainableVariables(model),
      forward: (xs, training) => model.apply(xs, { training }) as tf.Tensor,
      loss: lossByName('logits'),
    };
    const xs = tf.randomNormal([6, 4, 4, 1], 0, 1, 'float32', 9);
    const ys = tf.oneHot(tf.tensor1d([0, 1, 2, 0, 1, 2], 'int32'), 3);
    const lr = 0.1;
    const opt = tf.train.sgd(lr);
    const before = tf.memory().numTensors;
    applyStep(ctx, opt, { xs, ys }, cotHooks()).dispose();
    assert.equal(tf.memory().numTensors, before);
    // Reference by hand on the twin: w1 = w0 - lr gCE(w0); w2 = w1 - lr gC(w1).
    const tv = trainableVariables(twin);
    const step = (lossFn: (y: tf.Tensor, out: tf.Tensor) => tf.Scalar) => {
      const { grads } = tf.variableGrads(() => lossFn(ys, twin.apply(xs) as tf.Tensor), tv);
      for (const v of tv) v.assign(tf.sub(v, tf.mul(lr, grads[v.name])));
    };
    step(lossByName('logits').mean);
    step(complementLoss(lossByName('logits')).mean);
    const got = model.getWeights();
    twin.getWeights().forEach((w, i) => {
      assert.ok(maxAbsDiff(got[i], w) < 1e-6, `weight ${i} differs`);
    });
    assert.throws(() => complementLoss(lossByName('mse')), /classifier/);
  });

  it('trains through train() with hooks: deterministic, no leaks, differs from plain', async () => {
    const data = tinyData([4, 4, 1], 48, 2, { testCount: 24 });
    const cfg = { epochs: 2, batchSize: 16, learningRate: 0.01, seed: 1 };
    const run = async (hooks?: ReturnType<typeof cotHooks>) => {
      const m = tinyMlp(3);
      const r = await train(m, data, cfg, { hooks });
      const w = m.getWeights()[0].dataSync().slice();
      m.dispose();
      return { r, w };
    };
    const before = tf.memory().numTensors;
    const a = await run(cotHooks());
    const afterOne = tf.memory().numTensors;
    const b = await run(cotHooks());
    assert.equal(tf.memory().numTensors, afterOne);
    assert.equal(afterOne, before);
    assert.deepEqual(a.w, b.w);
    const plain = await run();
    assert.notDeepEqual(plain.w, a.w);
  });
});

describe('recipes: weight decay', () => {
  it('shrinks kernels by lr * decay after the update, leaves biases', () => {
    const k = tf.variable(tf.tensor2d([[1, -2]]), true, 'wd_k');
    const b = tf.variable(tf.tensor1d([3]), true, 'wd_b');
    const ctx: GradientContext = {
      variables: [k, b],
      forward: () => tf.add(tf.sum(tf.mul(k, 0)), tf.mul(b, 0)),
      loss: {
        name: 'mse',
        mean: (_y, o) => tf.sum(o) as tf.Scalar,
        sum: (_y, o) => tf.sum(o) as tf.Scalar,
      },
    };
    const batch = { xs: tf.zeros([1]), ys: tf.zeros([1]) };
    applyStep(ctx, tf.train.sgd(0.1), batch, weightDecayHooks(0.5, 0.1)).dispose();
    assert.deepEqual(Array.from(k.dataSync()), Array.from(Float32Array.from([0.95, -1.9])));
    assert.deepEqual(Array.from(b.dataSync()), [3]);
    assert.throws(() => weightDecayHooks(0, 0.1), /above 0/);
    assert.throws(() => weightDecayHooks(20, 0.1), /below 1/);
  });
});

describe('recipes: CELU', () => {
  it('matches its definition and replaces every ReLU of a zoo CNN (weights kept, save/load)', async () => {
    const x = tf.tensor1d([-3, -0.5, 0, 0.2, 4]);
    const a = 0.3;
    const ref = Array.from(x.dataSync()).map(
      (v) => Math.max(0, v) + Math.min(0, a * Math.expm1(v / a)),
    );
    const got = Array.from(celu(x, a).dataSync());
    got.forEach((v, i) => {
      assert.ok(Math.abs(v - ref[i]) < 1e-6);
    });
    const cnn = tinyCnn([2, 3], 4, 1);
    const { model, replaced } = useCelu(cnn, a);
    assert.equal(replaced, 3);
    const acts = model.layers.map((l) => (l.getConfig() as { activation?: string }).activation);
    assert.ok(!acts.includes('relu'));
    assert.equal(model.layers.filter((l) => l instanceof Celu).length, 3);
    // With alpha tiny CELU is ReLU up to 1e-6: same function as the original.
    const near = useCelu(cnn, 1e-6).model;
    const xs = tf.randomNormal([2, 8, 8, 1], 0, 1, 'float32', 4);
    assert.ok(maxAbsDiff(near.predict(xs) as tf.Tensor, cnn.predict(xs) as tf.Tensor) < 1e-5);
    const loaded = await saveAndLoad(model);
    assert.ok(maxAbsDiff(loaded.predict(xs) as tf.Tensor, model.predict(xs) as tf.Tensor) < 1e-6);
    const tanhMlp = buildModel('mlp', {
      inputShape: [4],
      numClasses: 2,
      hidden: [3],
      activation: 'tanh',
    });
    assert.throws(() => useCelu(tanhMlp, a), /no ReLU/);
  });

  it('the one-kernel CELU matches the composite a * elu(x / a) in value and gradient, leak-free', () => {
    assert.ok(celuKernelActive(), `the CELU kernel should be active on ${tf.getBackend()}`);
    const x = tf.mul(tf.randomNormal([3, 5, 5, 4], 0, 1, 'float32', 9), 0.4);
    const w = tf.randomNormal([3, 5, 5, 4], 0, 1, 'float32', 10);
    for (const a of [0.075, 1, 2.5]) {
      const before = tf.memory().numTensors;
      const f = (impl: (t: tf.Tensor, a: number) => tf.Tensor) =>
        tf.valueAndGrad((t: tf.Tensor) => tf.sum(tf.mul(impl(t, a), w)) as tf.Scalar);
      const k = f(celuKernel)(x);
      const r = f(celuComposite)(x);
      assert.ok(Math.abs(k.value.dataSync()[0] - r.value.dataSync()[0]) < 1e-4);
      assert.ok(maxAbsDiff(k.grad, r.grad) < 1e-5, `alpha ${a}: gradient`);
      assert.ok(maxAbsDiff(celuKernel(x, a), celuComposite(x, a)) < 1e-6, `alpha ${a}: value`);
      tf.dispose([k.value, k.grad, r.value, r.grad]);
      assert.ok(tf.memory().numTensors <= before + 2);
    }
    // Large negative inputs saturate at -a with zero gradient; large positive pass through.
    const big = tf.tensor1d([-50, -5, 0, 5, 50]);
    const g = tf.grad((t: tf.Tensor) => tf.sum(celuKernel(t, 0.1)))(big);
    assert.deepEqual(
      Array.from(celuKernel(big, 0.1).dataSync()).map((v) => Number(v.toFixed(5))),
      [-0.1, -0.1, 0, 5, 50],
    );
    assert.deepEqual(
      Array.from(g.dataSync()).map((v) => Number(v.toFixed(5)) + 0),
      [0, 0, 1, 1, 1],
    );
    assert.throws(() => celuKernel(tf.tensor1d([1], 'int32'), 1), /float32/);
    tf.dispose([x, w, big, g]);
  });
});

function cayleyRef(a: number[], d: number): Float64Array {
  const plus = new Float64Array(d * d);
  const minus = new Float64Array(d * d);
  for (let i = 0; i < d; i++)
    for (let j = 0; j < d; j++) {
      const s = a[i * d + j] - a[j * d + i];
      plus[i * d + j] = (i === j ? 1 : 0) + s;
      minus[i * d + j] = (i === j ? 1 : 0) - s;
    }
  const inv = invertMatrix(plus, d);
  const r = new Float64Array(d * d);
  for (let i = 0; i < d; i++)
    for (let k = 0; k < d; k++)
      for (let j = 0; j < d; j++) r[i * d + j] += inv[i * d + k] * minus[k * d + j];
  return r;
}

describe('recipes: OPT', () => {
  it('the Cayley transform is orthogonal to 1e-5', () => {
    for (const d of [3, 16, 64]) {
      const a = tf.randomNormal([d, d], 0, 0.5, 'float32', d) as tf.Tensor2D;
      const r = cayley(a);
      const err = tf.sub(tf.matMul(r, r, true, false), tf.eye(d));
      const m = tf.max(tf.abs(err)).dataSync()[0];
      assert.ok(m < 1e-5, `d=${d}: |R^T R - I| = ${m}`);
    }
  });

  it('its gradient matches central finite differences of a float64 reference', () => {
    const d = 4;
    const rng = makeRng(11);
    const a = Array.from({ length: d * d }, () => rng() - 0.5);
    const c = Array.from({ length: d * d }, () => rng() - 0.5);
    const ct = tf.tensor2d(c, [d, d]);
    const g = tf
      .grad((x: tf.Tensor) => tf.sum(tf.mul(ct, cayley(x as tf.Tensor2D))))(tf.tensor2d(a, [d, d]))
      .dataSync();
    const f = (v: number[]) => cayleyRef(v, d).reduce((s, r, i) => s + r * c[i], 0);
    const eps = 1e-5;
    for (let i = 0; i < d * d; i++) {
      const up = a.slice();
      const dn = a.slice();
      up[i] += eps;
      dn[i] -= eps;
      const fd = (f(up) - f(dn)) / (2 * eps);
      assert.ok(Math.abs(fd - g[i]) < 1e-4, `entry ${i}: ${g[i]} vs ${fd}`);
    }
  });

  it("starts as the Dense layer, trains only R and the bias, keeps the neurons' angles; save/load", async () => {
    const data = tinyData([4, 4, 1], 48, 4, { testCount: 16 });
    const plain = tinyMlp(7);
    const { model, converted, report } = useOpt(plain, { variant: 'cayley' });
    assert.deepEqual(converted, ['dense1', 'logits']);
    assert.ok(report.replaced.length === 2);
    const xs = tf.randomNormal([3, 4, 4, 1], 0, 1, 'float32', 1);
    assert.ok(maxAbsDiff(model.predict(xs) as tf.Tensor, plain.predict(xs) as tf.Tensor) < 1e-5);
    const names = model.trainableWeights.map((w) => w.name.split('/').pop()?.replace(/_\d+$/, ''));
    assert.deepEqual(names, ['skew', 'bias', 'skew', 'bias']);
    const layer = optLayers(model)[0] as OptDense;
    const gram = (k: tf.Tensor2D) => tf.matMul(k, k, true, false);
    const g0 = gram(layer.effectiveKernel());
    const before = tf.memory().numTensors;
    await train(model, data, { epochs: 1, batchSize: 16, learningRate: 0.05, seed: 1 });
    assert.equal(tf.memory().numTensors, before);
    const k1 = layer.effectiveKernel();
    assert.ok(
      maxAbsDiff(k1, plain.layers[1].getWeights()[0] as tf.Tensor2D) > 1e-3,
      'R did not move',
    );
    assert.ok(maxAbsDiff(gram(k1), g0) < 1e-4, 'neuron angles/norms changed');
    const loaded = await saveAndLoad(model);
    assert.ok(maxAbsDiff(loaded.predict(xs) as tf.Tensor, model.predict(xs) as tf.Tensor) < 1e-6);
    // Too wide for the exact transform: kept and reported.
    const wide = useOpt(plain, { variant: 'cayley', maxCayleyDim: 12 });
    assert.deepEqual(wide.converted, ['logits']);
    assert.throws(
      () => useOpt(plain, { variant: 'cayley', maxCayleyDim: 2 }),
      /no Dense or Conv2D layer/,
    );
  });

  it('stochastic variant: rotates a block, folds without changing the function, resamples', () => {
    const plain = tinyMlp(8, [6]);
    const { model } = useOpt(plain, { variant: 'stochastic', block: 4, seed: 2 });
    const layer = optLayers(model)[0] as OptDense;
    assert.equal(layer.block, 4);
    const xs = tf.randomNormal([3, 4, 4, 1], 0, 1, 'float32', 1);
    // Move S off zero, then fold: the function is the same, S is zero again, rows redrawn.
    const skew = layer.trainableWeights[0].read() as tf.Variable;
    skew.assign(tf.randomNormal([4, 4], 0, 0.3, 'float32', 5));
    const out = model.predict(xs) as tf.Tensor;
    const k = layer.effectiveKernel();
    const rows0 = Array.from(layer.nonTrainableWeights[1].read().dataSync());
    const w0 = layer.nonTrainableWeights[0].read().dataSync().slice();
    // Only the block's rows of the kernel moved.
    const kd = k.dataSync();
    for (let r = 0; r < 16; r++) {
      if (rows0.includes(r)) continue;
      for (let j = 0; j < 6; j++) assert.equal(kd[r * 6 + j], w0[r * 6 + j]);
    }
    const hooks = optHooks(model, 2);
    const dummy = { ctx: {} as GradientContext, batch: { xs, ys: xs }, optimizer: tf.train.sgd(1) };
    const before = tf.memory().numTensors;
    hooks.afterUpdate?.(dummy);
    assert.deepEqual(Array.from(layer.nonTrainableWeights[1].read().dataSync()), rows0);
    hooks.afterUpdate?.(dummy);
    assert.equal(tf.memory().numTensors, before);
    const rows1 = Array.from(layer.nonTrainableWeights[1].read().dataSync());
    assert.notDeepEqual(rows1, rows0);
    assert.equal(tf.max(tf.abs(skew)).dataSync()[0], 0);
    assert.ok(maxAbsDiff(model.predict(xs) as tf.Tensor, out) < 1e-5);
  });
});
