import * as tf from '@tensorflow/tfjs';
import type { Batch } from '../data/dataset.js';
import { measureStep, type StepMemory } from '../report/memory-meter.js';

/** Computes logits from a batch of inputs; defaults to `model.apply(xs, {training})`. */
export type ForwardFn = (xs: tf.Tensor, training: boolean) => tf.Tensor;

export function defaultForward(model: tf.LayersModel): ForwardFn {
  return (xs, training) => model.apply(xs, { training }) as tf.Tensor;
}

/** The tfjs variables behind a model's trainable weights. */
export function trainableVariables(model: tf.LayersModel): tf.Variable[] {
  return model.trainableWeights.map((w) => w.read() as tf.Variable);
}

export function allWeights(model: tf.LayersModel): tf.Tensor[] {
  return model.weights.map((w) => w.read());
}

/** Mean softmax cross-entropy between one-hot labels and logits. */
export function classificationLoss(ys: tf.Tensor, logits: tf.Tensor): tf.Scalar {
  return tf.losses.softmaxCrossEntropy(ys, logits) as tf.Scalar;
}

export interface StepContext {
  model: tf.LayersModel;
  optimizer: tf.Optimizer;
  forward?: ForwardFn;
}

/** One training step (forward, backward, update). Returns the loss; leaves no tensors behind. */
export function trainStep(ctx: StepContext, batch: Batch): number {
  const forward = ctx.forward ?? defaultForward(ctx.model);
  const vars = trainableVariables(ctx.model);
  const lossValue = tf.tidy(() => {
    const { value, grads } = tf.variableGrads(
      () => classificationLoss(batch.ys, forward(batch.xs, true)),
      vars,
    );
    ctx.optimizer.applyGradients(grads);
    return value;
  });
  const loss = lossValue.dataSync()[0];
  lossValue.dispose();
  return loss;
}

/** The same step as `trainStep`, measured by the memory meter. */
export async function trainStepMeasured(
  ctx: StepContext,
  batch: Batch,
): Promise<{ loss: number; memory: StepMemory }> {
  const forward = ctx.forward ?? defaultForward(ctx.model);
  return measureStep({
    variables: trainableVariables(ctx.model),
    weights: allWeights(ctx.model),
    optimizer: ctx.optimizer,
    inputs: [batch.xs, batch.ys],
    loss: (mark) => {
      const loss = classificationLoss(batch.ys, forward(batch.xs, true));
      mark();
      return loss;
    },
  });
}
