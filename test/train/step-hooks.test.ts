import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { compressForTraining } from '../../src/activation/training.js';
import { type Batch, gatherBatch } from '../../src/data/dataset.js';
import { buildModel } from '../../src/models/zoo.js';
import { externalMemory } from '../../src/report/external-memory.js';
import { computeGradients, type StepHooks } from '../../src/train/gradients.js';
import { gradientContext, trainStep, trainStepMeasured } from '../../src/train/step.js';
import { maxAbsDiff, useBackend, weightsOf } from '../helpers.js';
import { tinyData } from '../tiny-data.js';

/**
 * Sharpness-aware minimisation in the seam: the first pass gives g(w); the weights move to
 * w + rho g / |g|; the second pass gives g(w + e), which the optimizer applies at w (the weights
 * are moved back before the hook returns). Reports the loss at w.
 */
function sam(rho: number): StepHooks {
  return {
    gradients: (pass, ctx) => {
      const first = pass();
      const gs = ctx.variables.map((v) => first.grads[v.name]);
      const norm = tf.sqrt(tf.addN(gs.map((g) => tf.sum(tf.square(g)))));
      const eps = gs.map((g) => tf.div(tf.mul(g, rho), tf.add(norm, 1e-12)));
      tf.dispose(gs); // freed before the second pass: only e stays alive across it
      ctx.variables.forEach((v, i) => {
        v.assign(tf.add(v, eps[i]));
      });
      const second = pass();
      ctx.variables.forEach((v, i) => {
        v.assign(tf.sub(v, eps[i]));
      });
      tf.dispose(second.value);
      return { value: first.value, grads: second.grads };
    },
  };
}

const data = tinyData([6], 16, 4, { testCount: 1 });

function batchOf(n: number): Batch {
  const rows = Int32Array.from({ length: n }, (_, i) => i);
  return gatherBatch(data.train, data.sampleShape, data.numClasses, rows, 0, n);
}

const mlp = () =>
  buildModel('mlp', { inputShape: [6], numClasses: 3, hidden: [16], seed: 7 }) as tf.LayersModel;

describe('the training-step seam (StepHooks)', () => {
  it('a SAM-style hook: two passes, the update is -lr g(w + e) applied at w; rho 0 is the plain step', async () => {
    await useBackend('cpu');
    const batch = batchOf(16);
    const rho = 0.5;
    const lr = 0.1;
    // The recipe through the seam.
    const viaHook = mlp();
    const opt = tf.train.sgd(lr);
    trainStep({ model: viaHook, optimizer: opt, hooks: sam(rho) }, batch);
    // The same update by hand, outside the seam: perturb, take a plain step, move back.
    const byHand = mlp();
    const g = gradientContext({ model: byHand, optimizer: opt });
    const eps = tf.tidy(() => {
      const { grads } = computeGradients(g, batch);
      const norm = Math.sqrt(
        g.variables.reduce((s, v) => s + tf.sum(tf.square(grads[v.name])).dataSync()[0], 0),
      );
      return g.variables.map((v) => tf.mul(grads[v.name], rho / norm));
    });
    g.variables.forEach((v, i) => {
      tf.tidy(() => v.assign(tf.add(v, eps[i])));
    });
    trainStep({ model: byHand, optimizer: opt }, batch);
    g.variables.forEach((v, i) => {
      tf.tidy(() => v.assign(tf.sub(v, eps[i])));
    });
    tf.dispose(eps);
    const a = weightsOf(viaHook);
    const b = weightsOf(byHand);
    for (let i = 0; i < a.length; i++) assert.ok(maxAbsDiff(a[i], b[i]) < 1e-6, `weight ${i}`);
    // A plain step lands elsewhere (the hook did something); with rho 0 it lands exactly there.
    const plain = mlp();
    trainStep({ model: plain, optimizer: opt }, batch);
    const p = weightsOf(plain);
    assert.ok(Math.max(...a.map((w, i) => maxAbsDiff(w, p[i]))) > 1e-4);
    const zero = mlp();
    trainStep({ model: zero, optimizer: opt, hooks: sam(0) }, batch);
    for (const [i, w] of weightsOf(zero).entries())
      assert.equal(maxAbsDiff(w, p[i]), 0, `rho 0, weight ${i}`);
    for (const m of [viaHook, byHand, plain, zero]) m.dispose();
    opt.dispose();
    tf.dispose([batch.xs, batch.ys]);
  });

  it('the memory meter measures the recipe (its perturbation is live at the second forward end), with no leaks, on plain and compressed activations', async () => {
    await useBackend('cpu');
    const batch = batchOf(16);
    const model = mlp();
    const params = model.countParams();
    const opt = tf.train.sgd(0.05);
    const plain = await trainStepMeasured({ model, optimizer: opt }, batch);
    const start = tf.memory().numTensors;
    const withSam = await trainStepMeasured({ model, optimizer: opt, hooks: sam(0.05) }, batch);
    // Saved bytes at the end of the second forward pass: the plain pass's plus e (one float per
    // parameter) plus the first pass's loss scalar.
    assert.ok(
      withSam.memory.savedActivationBytes >= plain.memory.savedActivationBytes + 4 * params,
      `${withSam.memory.savedActivationBytes} vs ${plain.memory.savedActivationBytes} + ${4 * params}`,
    );
    assert.ok(withSam.memory.peakBytes > plain.memory.peakBytes);
    for (let i = 0; i < 3; i++) trainStep({ model, optimizer: opt, hooks: sam(0.05) }, batch);
    await trainStepMeasured({ model, optimizer: opt, hooks: sam(0.05) }, batch);
    assert.equal(tf.memory().numTensors, start, 'tensors leaked');

    // The same recipe with compressed activations (2-bit saves): the seam runs the custom forward.
    const act = await compressForTraining(mlp(), { level: 'L3', forwardChunk: 'off' }, data);
    const ctx = { model: act.model, optimizer: opt, forward: act.forward };
    const exact = await trainStepMeasured(ctx, batch);
    const compressedSam = await trainStepMeasured({ ...ctx, hooks: sam(0.05) }, batch);
    assert.ok(Number.isFinite(compressedSam.loss));
    assert.ok(
      compressedSam.memory.savedActivationBytes >= exact.memory.savedActivationBytes + 4 * params,
    );
    assert.ok(
      compressedSam.memory.savedActivationBytes < withSam.memory.savedActivationBytes,
      `compressed ${compressedSam.memory.savedActivationBytes} vs ${withSam.memory.savedActivationBytes}`,
    );
    const before = tf.memory().numTensors;
    for (let i = 0; i < 2; i++) trainStep({ ...ctx, hooks: sam(0.05) }, batch);
    assert.equal(tf.memory().numTensors, before, 'tensors leaked (compressed)');
    assert.equal(externalMemory.live, 0);
    act.dispose();
    act.model.dispose();
    model.dispose();
    opt.dispose();
    tf.dispose([batch.xs, batch.ys]);
  });
});
