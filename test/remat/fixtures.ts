import * as tf from '@tensorflow/tfjs';
import type { Batch } from '../../src/data/dataset.js';
import { buildModel } from '../../src/models/zoo.js';
import { classificationLoss, type ForwardFn } from '../../src/train/step.js';

/** Tiny zoo models for fast rematerialization tests: the conv ResNet (batch-norm) and the Transformer. */
export const TINY = {
  resnet: { inputShape: [8, 8, 1], widths: [4, 8] },
  transformer: { inputShape: [6, 5], dModel: 8, numHeads: 2, ffDim: 16 },
} as const;

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
