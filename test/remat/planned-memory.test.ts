import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { buildChain } from '../../src/remat/chain.js';
import { scheduledForward } from '../../src/remat/executor.js';
import { planRemat } from '../../src/remat/plan-model.js';
import { profileChain } from '../../src/remat/profile.js';
import { minimumPeak, planRotor } from '../../src/remat/rotor.js';
import { type Op, simulate } from '../../src/remat/schedule.js';
import { externalMemory } from '../../src/report/external-memory.js';
import { train } from '../../src/train/loop.js';
import { trainStepMeasured } from '../../src/train/step.js';
import { useBackend } from '../helpers.js';
import { tinyData } from '../tiny-data.js';
import {
  gradients,
  steadyStepMemory,
  TINY_CASES,
  tinyBatch,
  tinyModel,
  tinyRun,
} from './fixtures.js';

describe('planned training steps', () => {
  for (const [name, backend] of TINY_CASES) {
    it(`measured activation memory stays within the budget (${name}, ${backend})`, async () => {
      await useBackend(backend);
      const { model, batch, optimizer, dispose } = tinyRun(name, 8, tf.train.adam(1e-3));
      const plainStep = async () =>
        (await trainStepMeasured({ model, optimizer }, batch)).memory.activationBytes;
      await plainStep();
      const plain = await plainStep();
      const chain = buildChain(model);
      const tensors = tf.memory().numTensors;
      const { costs } = profileChain(chain, batch, { repeats: 1, optimizer });
      assert.equal(tf.memory().numTensors, tensors, 'profiling leaves nothing behind');
      const min = minimumPeak(costs);
      assert.ok(min < plain, `least-memory plan ${min} vs plain ${plain}`);
      for (const budget of [min, Math.round((min + plain) / 2), plain]) {
        const plan = planRotor(costs, budget);
        const forward = scheduledForward(chain, plan.ops);
        const memory = await steadyStepMemory({ model, optimizer, forward }, batch);
        assert.ok(
          memory.activationBytes <= budget,
          `budget ${budget}: measured ${memory.activationBytes}, predicted ${plan.predicted.peakBytes}`,
        );
      }
      dispose();
    });
  }

  it('a chain split inside blocks lowers the least budget; its measured peak stays within it', async () => {
    await useBackend('cpu');
    const { model, batch, optimizer, dispose } = tinyRun('resnet', 16, tf.train.sgd(1e-3));
    const least = (split: 'blocks' | 'layers') =>
      minimumPeak(
        profileChain(buildChain(model, { split }), batch, { repeats: 1, optimizer }).costs,
      );
    const blocks = least('blocks');
    const chain = buildChain(model, { split: 'layers' });
    const { costs } = profileChain(chain, batch, { repeats: 1, optimizer });
    const layers = minimumPeak(costs);
    assert.ok(layers < 0.9 * blocks, `least budget: layers ${layers}, blocks ${blocks}`);
    const plan = planRotor(costs, layers);
    const forward = scheduledForward(chain, plan.ops);
    const memory = await steadyStepMemory({ model, optimizer, forward }, batch);
    assert.ok(memory.activationBytes <= layers, `measured ${memory.activationBytes} > ${layers}`);
    dispose();
  });

  it('joint plans keep tapes compressed within the budget, with close gradients', async () => {
    await useBackend('cpu');
    const model = tinyModel('transformer');
    const batch = tinyBatch('transformer', 48);
    const chain = buildChain(model);
    const L = chain.stages.length;
    const keepBits = [32, 8, 4, 2];
    const optimizer = tf.train.sgd(1e-3);
    const { costs } = profileChain(chain, batch, {
      repeats: 1,
      compressedBits: [8, 4, 2],
      optimizer,
    });
    assert.ok(
      costs.stages.some((s) => s.keep[3].tapeBytes < s.keep[0].tapeBytes / 2),
      '2-bit tapes are smaller',
    );
    // Every stage kept at 8 bits: gradients within a few percent of the exact ones.
    const keepAll = (mode: number): Op[] => [
      ...chain.stages.map((_, i) => ({ kind: 'fall' as const, stage: i, mode })),
      ...chain.stages.map((_, i) => ({ kind: 'b' as const, stage: L - 1 - i, mode })),
    ];
    const exact = gradients(model, batch, scheduledForward(chain, keepAll(0)));
    const q8 = gradients(model, batch, scheduledForward(chain, keepAll(1), { keepBits }));
    // Relative to the whole gradient's norm: some tensors' exact gradient is ~0 (key biases).
    const norm = (ts: tf.Tensor[]) =>
      Math.sqrt(ts.reduce((a, t) => a + tf.tidy(() => tf.sum(tf.square(t)).dataSync()[0]), 0));
    const diffs = exact.grads.map((g, i) => tf.sub(g, q8.grads[i]));
    const rel = norm(diffs) / norm(exact.grads);
    tf.dispose(diffs);
    assert.ok(rel > 0 && rel < 0.02, `8-bit relative gradient error ${rel}`);
    assert.equal(externalMemory.live, 0, 'compressed buffers released');
    // Keeping every stage at 2 bits: measured within its predicted peak, below the exact one.
    const measure = async (forward: ReturnType<typeof scheduledForward>) => {
      await trainStepMeasured({ model, optimizer, forward }, batch);
      return (await trainStepMeasured({ model, optimizer, forward }, batch)).memory.activationBytes;
    };
    const budget = simulate(costs, keepAll(3)).peakBytes;
    const twoBit = await measure(scheduledForward(chain, keepAll(3), { keepBits }));
    const exactAll = await measure(scheduledForward(chain, keepAll(0)));
    assert.ok(
      twoBit <= budget && twoBit < exactAll,
      `2-bit ${twoBit}, budget ${budget}, exact ${exactAll}`,
    );
    // The joint planner never predicts more time than recompute-only, and its step fits.
    const joint = planRotor(costs, budget, { modes: 'joint' });
    assert.ok(joint.predicted.timeMs <= planRotor(costs, budget).predicted.timeMs);
    const planned = await measure(scheduledForward(chain, joint.ops, { keepBits }));
    assert.ok(planned <= budget, `measured ${planned} > ${budget}`);
    assert.equal(externalMemory.live, 0);
    tf.dispose([...exact.grads, ...q8.grads, batch.xs, batch.ys]);
    optimizer.dispose();
    model.dispose();
  });

  it('trains through train() with a planned forward and learns', async () => {
    await useBackend('cpu');
    const data = tinyData([6, 5], 96, 2, { testCount: 48 });
    const model = tinyModel('transformer');
    const sample = tinyBatch('transformer', 16);
    const { forward, plan } = planRemat(model, sample, 10e6, { repeats: 1 });
    tf.dispose([sample.xs, sample.ys]);
    const before = tf.memory().numTensors;
    const r = await train(
      model,
      data,
      { epochs: 3, batchSize: 16, learningRate: 1e-2, seed: 1 },
      { forward },
    );
    assert.equal(tf.memory().numTensors, before);
    assert.ok(r.testAccuracy > 0.8, `accuracy ${r.testAccuracy}`);
    assert.ok(r.memory && r.memory.activationBytes <= plan.budgetBytes);
    model.dispose();
  });
});
