import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import type { Batch } from '../../src/data/dataset.js';
import { buildModel } from '../../src/models/zoo.js';
import type { StepMemory } from '../../src/report/memory-meter.js';
import {
  classificationLoss,
  type ForwardFn,
  type StepContext,
  trainStepMeasured,
} from '../../src/train/step.js';
import { useBackend } from '../helpers.js';

/** Tiny zoo models for fast rematerialization tests: the conv ResNet (batch-norm) and the Transformer. */
export const TINY = {
  resnet: { inputShape: [8, 8, 1], widths: [4, 8] },
  transformer: { inputShape: [6, 5], dModel: 8, numHeads: 2, ffDim: 16 },
} as const;

/** The tiny models on the backends the remat tests run each on (the Transformer on wasm too). */
export const TINY_CASES = [
  ['resnet', 'cpu'],
  ['transformer', 'cpu'],
  ['transformer', 'wasm'],
] as const;

export function tinyModel(name: keyof typeof TINY, seed = 1): tf.LayersModel {
  const c = TINY[name];
  return buildModel(name, { ...c, inputShape: [...c.inputShape], numClasses: 3, seed } as never);
}

export function tinyBatch(name: keyof typeof TINY, size = 4, seed = 3): Batch {
  const xs = tf.randomNormal([size, ...TINY[name].inputShape], 0, 1, 'float32', seed);
  const labels = Int32Array.from({ length: size }, (_, i) => i % 3);
  const ys = tf.oneHot(tf.tensor1d(labels, 'int32'), 3).toFloat() as tf.Tensor2D;
  return { xs, ys, labels, size };
}

/** Loss and loss gradients of the model's trainable weights (by position) under a forward. */
export function gradients(
  model: tf.LayersModel,
  batch: { xs: tf.Tensor; ys: tf.Tensor },
  f: ForwardFn,
): { loss: number; grads: tf.Tensor[] } {
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const { value, grads } = tf.variableGrads(
    () => classificationLoss(batch.ys, f(batch.xs, true)),
    vars,
  );
  const out = { loss: value.dataSync()[0], grads: vars.map((v) => grads[v.name]) };
  value.dispose();
  return out;
}

/**
 * The memory of a steady training step of `ctx` on `batch`: one warm-up step, then the measured
 * one, which must leave as many tensors as it found.
 */
export async function steadyStepMemory(ctx: StepContext, batch: Batch): Promise<StepMemory> {
  await trainStepMeasured(ctx, batch);
  const before = tf.memory().numTensors;
  const { memory } = await trainStepMeasured(ctx, batch);
  assert.equal(tf.memory().numTensors, before, 'no leak');
  return memory;
}

/** A tiny model, a batch of `size` and `optimizer`, with `dispose` to free all three. */
export function tinyRun(name: keyof typeof TINY, size: number, optimizer: tf.Optimizer) {
  const model = tinyModel(name);
  const batch = tinyBatch(name, size);
  const dispose = () => {
    tf.dispose([batch.xs, batch.ys]);
    optimizer.dispose();
    model.dispose();
  };
  return { model, batch, optimizer, dispose };
}

/** On cpu: `check` with the tiny Transformer and a batch of 4, both freed after it. */
export async function withTinyTransformer(
  check: (model: tf.LayersModel, batch: Batch) => void,
): Promise<void> {
  await useBackend('cpu');
  const model = tinyModel('transformer');
  const batch = tinyBatch('transformer', 4);
  try {
    check(model, batch);
  } finally {
    tf.dispose([batch.xs, batch.ys]);
    model.dispose();
  }
}
