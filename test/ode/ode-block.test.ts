import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { OdeBlock, odeBlocks, withSolve } from '../../src/ode/ode-block.js';
import type { OdeGradient } from '../../src/ode/solve.js';
import { maxAbsDiff, useBackend } from '../helpers.js';

function denseModel(gradient: OdeGradient, extra: Record<string, unknown> = {}): tf.LayersModel {
  const m = tf.sequential();
  m.add(
    tf.layers.dense({
      inputShape: [5],
      units: 6,
      kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
    }),
  );
  m.add(
    new OdeBlock({
      solver: 'rk4',
      steps: 6,
      gradient,
      hidden: 8,
      activation: 'tanh',
      seed: 3,
      ...extra,
    }),
  );
  m.add(
    tf.layers.dense({ units: 3, kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
  );
  return m;
}

function lossGrads(m: tf.LayersModel, x: tf.Tensor, y: tf.Tensor): tf.NamedTensorMap {
  const vars = m.trainableWeights.map((w) => w.read() as tf.Variable);
  const { value, grads } = tf.variableGrads(
    () =>
      tf.losses.softmaxCrossEntropy(y, m.apply(x, { training: true }) as tf.Tensor) as tf.Scalar,
    vars,
  );
  value.dispose();
  return grads;
}

const x = () => tf.randomNormal([4, 5], 0, 1, 'float32', 9);
const y = () => tf.oneHot(tf.tensor1d([0, 2, 1, 2], 'int32'), 3);

describe('OdeBlock layer', () => {
  it('backprop, adjoint and IRDM give the same weight gradients through a model', async () => {
    await useBackend('cpu');
    const [xs, ys] = [x(), y()];
    const ref = lossGrads(denseModel('backprop'), xs, ys);
    for (const g of ['adjoint', 'irdm'] as const) {
      const got = lossGrads(denseModel(g, { nodes: 10 }), xs, ys);
      const keys = Object.keys(ref);
      assert.equal(Object.keys(got).length, keys.length);
      Object.values(got).forEach((t, i) => {
        const r = Object.values(ref)[i];
        const rel = maxAbsDiff(t, r) / Math.max(1e-6, tf.max(tf.abs(r)).dataSync()[0]);
        assert.ok(rel < 5e-3, `${g}: weight ${i} relative error ${rel}`);
      });
      tf.dispose(got);
    }
    tf.dispose([ref, xs, ys]);
  });

  it('conv f with batch, layer and weight norm: adjoint and IRDM gradients match backprop', async () => {
    await useBackend('cpu');
    const xs = tf.randomNormal([2, 4, 4, 2], 0, 1, 'float32', 6);
    const ys = tf.oneHot(tf.tensor1d([0, 1], 'int32'), 2);
    const conv = (gradient: OdeGradient, norm: 'batch' | 'layer' | 'weight') => {
      const m = tf.sequential();
      m.add(
        new OdeBlock({
          inputShape: [4, 4, 2],
          steps: 4,
          gradient,
          norm,
          hidden: 3,
          nodes: 10,
          activation: 'softplus',
          seed: 8,
        } as never),
      );
      m.add(tf.layers.flatten());
      m.add(
        tf.layers.dense({
          units: 2,
          kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }),
        }),
      );
      return m;
    };
    for (const norm of ['batch', 'layer', 'weight'] as const) {
      const ref = Object.values(lossGrads(conv('backprop', norm), xs, ys));
      for (const g of ['adjoint', 'irdm'] as const) {
        const got = Object.values(lossGrads(conv(g, norm), xs, ys));
        got.forEach((t, i) => {
          const rel = maxAbsDiff(t, ref[i]) / Math.max(1e-6, tf.max(tf.abs(ref[i])).dataSync()[0]);
          assert.ok(rel < 1e-2, `${norm} ${g}: weight ${i} relative error ${rel}`);
        });
        tf.dispose(got);
      }
      tf.dispose(ref);
    }
    tf.dispose([xs, ys]);
  });

  for (const norm of ['none', 'batch', 'layer', 'weight'] as const) {
    it(`conv block (norm ${norm}) saves and loads: same predictions, same solver, fits after loading`, async () => {
      await useBackend('cpu');
      const m = tf.sequential();
      m.add(
        new OdeBlock({
          inputShape: [5, 5, 2],
          solver: 'rk2',
          u: 0.7,
          steps: 3,
          gradient: 'adjoint',
          norm,
          hidden: 3,
          seed: 4,
        } as never),
      );
      m.add(tf.layers.flatten());
      m.add(tf.layers.dense({ units: 2 }));
      let artifacts: tf.io.ModelArtifacts | undefined;
      await m.save(
        tf.io.withSaveHandler(async (a) => {
          artifacts = a;
          return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
        }),
      );
      const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts as tf.io.ModelArtifacts));
      const block = odeBlocks(loaded)[0];
      assert.equal(block.solve.solver, 'rk2');
      assert.equal(block.solve.u, 0.7);
      assert.equal(block.solve.gradient, 'adjoint');
      assert.equal(block.norm, norm);
      const xs = tf.randomNormal([2, 5, 5, 2], 0, 1, 'float32', 5);
      const a = m.predict(xs) as tf.Tensor;
      const b = loaded.predict(xs) as tf.Tensor;
      assert.ok(maxAbsDiff(a, b) < 1e-6, `loaded predictions differ by ${maxAbsDiff(a, b)}`);
      loaded.compile({ optimizer: tf.train.sgd(0.005), loss: 'meanSquaredError' });
      const h = await loaded.fit(xs, tf.zeros([2, 2]), { epochs: 2, verbose: 0 });
      assert.ok(
        (h.history.loss[1] as number) < (h.history.loss[0] as number),
        `loss ${h.history.loss}`,
      );
      tf.dispose([xs, a, b]);
      m.dispose();
      loaded.dispose();
    });
  }

  it('batch norm inside f: batch statistics in training update the moving ones; inference is per sample', async () => {
    await useBackend('cpu');
    const m = tf.sequential();
    m.add(
      new OdeBlock({
        inputShape: [4, 4, 2],
        steps: 2,
        norm: 'batch',
        gradient: 'irdm',
        hidden: 3,
        seed: 2,
      } as never),
    );
    const xs = tf.add(tf.mul(tf.randomNormal([6, 4, 4, 2], 0, 1, 'float32', 3), 2), 1);
    const moving = () =>
      m.weights.filter((w) => w.name.includes('moving')).map((w) => w.read().dataSync().slice());
    const init = moving();
    assert.equal(init.length, 4);
    tf.dispose(
      tf.grads((x: tf.Tensor) => tf.sum(m.apply(x, { training: true }) as tf.Tensor))([xs]),
    );
    const after = moving();
    assert.ok(
      after.some((a, i) => maxAbsDiff(a, init[i]) > 1e-3),
      'a training call moves the statistics',
    );
    // The backward pass (IRDM re-evaluates f) leaves them alone: one more inference call too.
    const full = m.predict(xs) as tf.Tensor;
    const first = m.predict(xs.slice(0, 1)) as tf.Tensor;
    assert.ok(maxAbsDiff(first, full.slice(0, 1)) < 1e-5, 'inference does not depend on the batch');
    assert.deepEqual(moving(), after);
    const trainA = m.apply(xs, { training: true }) as tf.Tensor;
    const trainB = m.apply(xs.slice(0, 3), { training: true }) as tf.Tensor;
    assert.ok(maxAbsDiff(trainA.slice(0, 3), trainB) > 1e-4, 'training uses batch statistics');
    tf.dispose([xs, full, first, trainA, trainB]);
    m.dispose();
  });

  it('solver smoothing draws u per training call; inference is deterministic', async () => {
    await useBackend('cpu');
    const m = denseModel('backprop', { solver: 'rk2', smoothing: { low: 0.3, high: 0.9 } });
    const block = odeBlocks(m)[0];
    const [xs, ys] = [x(), y()];
    const us = new Set<number>();
    for (let i = 0; i < 5; i++) {
      tf.dispose(lossGrads(m, xs, ys));
      const u = block.lastU as number;
      assert.ok(u >= 0.3 && u <= 0.9);
      us.add(u);
    }
    assert.equal(us.size, 5);
    const p1 = m.predict(xs) as tf.Tensor;
    const p2 = m.predict(xs) as tf.Tensor;
    assert.equal(maxAbsDiff(p1, p2), 0);
    const p3 = withSolve(m, { u: 0.31 }, () => m.predict(xs) as tf.Tensor);
    assert.ok(maxAbsDiff(p1, p3) > 0);
    tf.dispose([xs, ys, p1, p2, p3]);
  });

  it('a training step leaves no tensors behind (each gradient method, and batch norm in f)', async () => {
    await useBackend('cpu');
    const [xs, ys] = [x(), y()];
    for (const [g, norm] of [
      ['backprop', 'none'],
      ['adjoint', 'none'],
      ['irdm', 'none'],
      ['adjoint', 'batch'],
      ['backprop', 'batch'],
    ] as const) {
      const m = denseModel(g, { norm });
      const opt: tf.Optimizer = tf.train.adam(0.01);
      const step = () => tf.tidy(() => opt.applyGradients(lossGrads(m, xs, ys)));
      step();
      const before = tf.memory().numTensors;
      step();
      step();
      assert.equal(tf.memory().numTensors, before, `${g}, norm ${norm}`);
      opt.dispose();
      m.dispose();
    }
    tf.dispose([xs, ys]);
  });

  it('rejects bad configs, and an exhausted dopri5 budget stops the step without touching the weights', async () => {
    await useBackend('cpu');
    assert.throws(
      () => new OdeBlock({ solver: 'rk4', smoothing: { low: 0.2, high: 0.8 } }),
      /smoothing samples the rk2/,
    );
    assert.throws(
      () => new OdeBlock({ solver: 'rk2', smoothing: { low: 0, high: 0.8 } }),
      /rk2: u must lie/,
    );
    assert.throws(() => new OdeBlock({ t0: 1, t1: 1 }), /t1 must be greater than t0/);
    assert.throws(
      () => new OdeBlock({ norm: 'group' as never }),
      /norm must be one of none, batch, layer, weight/,
    );
    const m = tf.sequential();
    assert.throws(
      () => m.add(new OdeBlock({ fn: 'conv', inputShape: [4] } as never)),
      /needs inputs of rank 4/,
    );
    const dm = denseModel('backprop', { solver: 'dopri5', rtol: 1e-7, atol: 1e-7, maxSteps: 2 });
    const before = dm.getWeights().map((w) => w.dataSync().slice());
    const [xs, ys] = [x(), y()];
    assert.throws(() => lossGrads(dm, xs, ys), /step budget of 2 steps exhausted/);
    for (const [i, w] of dm.getWeights().entries()) assert.deepEqual(w.dataSync(), before[i]);
    tf.dispose([xs, ys]);
  });
});
