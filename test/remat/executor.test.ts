import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { buildChain } from '../../src/remat/chain.js';
import { scheduledForward } from '../../src/remat/executor.js';
import { profileChain } from '../../src/remat/profile.js';
import { minimumPeak, planRotor } from '../../src/remat/rotor.js';
import type { Op } from '../../src/remat/schedule.js';
import { evenSegments, segmentSchedule } from '../../src/remat/segments.js';
import { trainStep } from '../../src/train/step.js';
import { maxAbsDiff, useBackend } from '../helpers.js';
import { gradients, TINY_CASES, tinyBatch, tinyModel } from './fixtures.js';

type Name = 'resnet' | 'transformer';

function stateOf(model: tf.LayersModel): Float32Array[] {
  return model.weights.filter((w) => !w.trainable).map((w) => w.read().dataSync() as Float32Array);
}

function checkEqualToPlain(
  name: Name,
  schedule: (stages: number) => Op[],
  split: 'blocks' | 'layers' = 'blocks',
) {
  const plainModel = tinyModel(name);
  const model = tinyModel(name);
  const batch = tinyBatch(name);
  const chain = buildChain(model, { split });
  const forward = scheduledForward(chain, schedule(chain.stages.length));
  const plain = gradients(
    plainModel,
    batch,
    (x, t) => plainModel.apply(x, { training: t }) as tf.Tensor,
  );
  const remat = gradients(model, batch, forward);
  assert.ok(Math.abs(plain.loss - remat.loss) < 1e-6);
  plain.grads.forEach((g, i) => {
    assert.ok(maxAbsDiff(g, remat.grads[i]) < 1e-5, `gradient ${i}`);
  });
  // Batch-norm moving statistics are updated once per step, as in plain training.
  const a = stateOf(plainModel);
  const b = stateOf(model);
  assert.equal(a.length, b.length);
  a.forEach((s, i) => {
    assert.ok(maxAbsDiff(s, b[i]) < 1e-7, `state ${i}`);
  });
  tf.dispose([...plain.grads, ...remat.grads, batch.xs, batch.ys]);
  plainModel.dispose();
  model.dispose();
}

describe('scheduled execution', () => {
  for (const [name, backend] of TINY_CASES) {
    it(`segment checkpointing gives the plain gradients and BN statistics (${name}, ${backend})`, async () => {
      await useBackend(backend);
      checkEqualToPlain(name, (L) => segmentSchedule(L, evenSegments(L, 3)));
      checkEqualToPlain(name, (L) => segmentSchedule(L, evenSegments(L, 1)));
    });
  }

  for (const [name, backend] of [
    ['resnet', 'cpu'],
    ['transformer', 'wasm'],
  ] as const) {
    it(`a chain split inside residual blocks gives the plain gradients (${name}, ${backend})`, async () => {
      await useBackend(backend);
      checkEqualToPlain(name, (L) => segmentSchedule(L, evenSegments(L, 1)), 'layers');
      checkEqualToPlain(name, (L) => segmentSchedule(L, evenSegments(L, 4)), 'layers');
    });
  }

  it('the least-memory Rotor schedule gives the plain gradients (resnet, cpu)', async () => {
    await useBackend('cpu');
    const model = tinyModel('resnet');
    const batch = tinyBatch('resnet');
    const profile = profileChain(buildChain(model), batch, { repeats: 1 });
    const ops = planRotor(profile.costs, minimumPeak(profile.costs)).ops;
    assert.ok(
      ops.some((o) => o.kind === 'fn'),
      'the schedule recomputes',
    );
    tf.dispose([batch.xs, batch.ys]);
    model.dispose();
    checkEqualToPlain('resnet', () => ops);
  });

  it('leaks no tensors over steps and leaves none after an error', async () => {
    await useBackend('cpu');
    const model = tinyModel('transformer');
    const batch = tinyBatch('transformer');
    const chain = buildChain(model);
    const L = chain.stages.length;
    const optimizer = tf.train.adam(1e-3);
    const forward = scheduledForward(chain, segmentSchedule(L, evenSegments(L, 2)));
    trainStep({ model, optimizer, forward }, batch);
    const before = tf.memory().numTensors;
    for (let s = 0; s < 5; s++) trainStep({ model, optimizer, forward }, batch);
    assert.equal(tf.memory().numTensors, before);
    // A schedule that is wrong halfway: the error names the op and nothing stays behind.
    const bad = scheduledForward(chain, [
      { kind: 'fc', stage: 0 },
      { kind: 'fn', stage: 2 },
    ]);
    assert.throws(() => trainStep({ model, optimizer, forward: bad }, batch), /Fn2 needs x2/);
    assert.equal(tf.memory().numTensors, before);
    // Outside a gradient computation it is the plain model.
    const y = forward(batch.xs, true);
    const z = model.apply(batch.xs, { training: true }) as tf.Tensor;
    assert.ok(maxAbsDiff(y, z) < 1e-6);
    tf.dispose([y, z, batch.xs, batch.ys]);
    optimizer.dispose();
    model.dispose();
  });
});
