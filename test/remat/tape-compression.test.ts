import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { recordTape } from '../../src/engine/tape.js';
import { buildChain } from '../../src/remat/chain.js';
import { scheduledForward } from '../../src/remat/executor.js';
import { profileChain } from '../../src/remat/profile.js';
import { recordStage } from '../../src/remat/record-stage.js';
import { InfeasibleBudgetError, minimumPeak, planRotor } from '../../src/remat/rotor.js';
import { externalMemory } from '../../src/report/external-memory.js';
import { BACKENDS, maxAbsDiff, useBackend } from '../helpers.js';
import { steadyStepMemory, tinyBatch, tinyModel, tinyRun } from './fixtures.js';

describe('compressed tapes', () => {
  for (const backend of BACKENDS) {
    it(`a tape holds each saved buffer once and no buffer a gradient reads only the shape of (${backend})`, async () => {
      await useBackend(backend);
      const x = tf.randomNormal([4, 300], 0, 1, 'float32', 1);
      const before = tf.memory().numTensors;
      const f = (v: tf.Tensor) => tf.sum(tf.reshape(tf.square(tf.sub(tf.relu(v), 0.5)), [1200]));
      const tape = recordTape(() => f(x));
      // Relu saves x; Square saves relu-0.5; Sub, Reshape and Sum need only shapes.
      const buffers = new Set(
        tape
          .savedTensors()
          .filter((t) => !t.isDisposed)
          .map((t) => t.dataId),
      );
      assert.equal(buffers.size, 2);
      const dy = tf.onesLike(tape.output);
      const [g] = tape.backward(dy, [x]);
      const want = tf.grad(f)(x);
      assert.ok(maxAbsDiff(g, want) < 1e-6);
      tape.dispose();
      tf.dispose([tape.output, dy, g, want]);
      assert.equal(tf.memory().numTensors, before, 'no leak');
      x.dispose();
    });
  }

  it('quantizes during the forward and restores node by node: the stage peak falls with bits', async () => {
    await useBackend('wasm');
    const model = tinyModel('transformer');
    const batch = tinyBatch('transformer', 32);
    const chain = buildChain(model);
    const { costs } = profileChain(chain, batch, { repeats: 1, compressedBits: [8, 2] });
    // The largest stage: its recorded forward and its backward both peak lower at 2 bits.
    const big = costs.stages.reduce((a, s) => (s.keep[0].tapeBytes > a.keep[0].tapeBytes ? s : a));
    const [exact, , two] = big.keep;
    assert.ok(two.tapeBytes < exact.tapeBytes / 2, `tape ${two.tapeBytes} vs ${exact.tapeBytes}`);
    assert.ok(
      two.allPeakBytes < exact.allPeakBytes,
      `forward peak ${two.allPeakBytes} vs ${exact.allPeakBytes}`,
    );
    assert.ok(
      two.tapeBytes + two.bwdPeakBytes < exact.tapeBytes + exact.bwdPeakBytes,
      'backward peak with the tape',
    );
    // Restored gradients of a compressed stage are close to the exact ones.
    const stage = chain.stages[2];
    const x = tf.tidy(() =>
      chain.stages[1].run(chain.stages[0].run(batch.xs, true, true), true, true),
    );
    const grads = (bits: number) => {
      const rec = recordStage(stage, x, true, bits, 7);
      const dy = tf.onesLike(rec.output);
      const g = rec.backward(dy, [x, ...stage.variables]);
      rec.dispose();
      tf.dispose([rec.output, dy]);
      return g;
    };
    const a = grads(32);
    const b = grads(8);
    const rel = tf.tidy(
      () => tf.norm(tf.sub(a[0], b[0])).dataSync()[0] / tf.norm(a[0]).dataSync()[0],
    );
    assert.ok(rel > 0 && rel < 0.05, `8-bit input-gradient relative error ${rel}`);
    tf.dispose([...a, ...b, x, batch.xs, batch.ys]);
    assert.equal(externalMemory.live, 0);
    model.dispose();
  });

  it('the joint planner reaches budgets recompute-only cannot, and the measured step fits', async () => {
    await useBackend('cpu');
    const { model, batch, optimizer, dispose } = tinyRun('resnet', 16, tf.train.sgd(1e-3));
    const chain = buildChain(model);
    const keepBits = [32, 8, 4, 2];
    const { costs } = profileChain(chain, batch, {
      repeats: 1,
      compressedBits: [8, 4, 2],
      optimizer,
    });
    const exactMin = minimumPeak(costs);
    const jointMin = minimumPeak(costs, { modes: 'joint' });
    assert.ok(jointMin < 0.9 * exactMin, `joint least ${jointMin} vs exact least ${exactMin}`);
    const budget = Math.round((jointMin + exactMin) / 2);
    assert.throws(() => planRotor(costs, budget), InfeasibleBudgetError);
    const plan = planRotor(costs, budget, { modes: 'joint' });
    assert.ok(
      plan.ops.some((o) => o.kind === 'fall' && o.mode > 0),
      'some tape kept compressed',
    );
    const forward = scheduledForward(chain, plan.ops, { keepBits });
    const memory = await steadyStepMemory({ model, optimizer, forward }, batch);
    assert.ok(
      memory.activationBytes <= budget,
      `measured ${memory.activationBytes} > budget ${budget} (predicted ${plan.predicted.peakBytes})`,
    );
    assert.equal(externalMemory.live, 0);
    dispose();
  });
});
