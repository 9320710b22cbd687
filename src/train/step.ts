import * as tf from '@tensorflow/tfjs';
import type { Batch } from '../data/dataset.js';
import { measureStep, type StepMemory } from '../report/memory-meter.js';
import { type Loss, type LossName, resolveLoss } from './loss.js';

export { classificationLoss } from './loss.js';

/** Computes the model's outputs from a batch of inputs; defaults to `model.apply(xs, {training})`. */
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

export interface StepContext {
  model: tf.LayersModel;
  optimizer: tf.Optimizer;
  forward?: ForwardFn;
  /** The loss, or what the model outputs (see LOSSES); default 'auto'. */
  loss?: LossName | Loss;
}

/** One training step (forward, backward, update). Returns the loss; leaves no tensors behind. */
export function trainStep(ctx: StepContext, batch: Batch): number {
  const forward = ctx.forward ?? defaultForward(ctx.model);
  const vars = trainableVariables(ctx.model);
  const loss = resolveLoss(ctx.model, ctx.loss);
  const lossValue = tf.tidy(() => {
    const { value, grads } = tf.variableGrads(
      () => loss.mean(batch.ys, forward(batch.xs, true)),
      vars,
    );
    ctx.optimizer.applyGradients(grads);
    return value;
  });
  const v = lossValue.dataSync()[0];
  lossValue.dispose();
  return v;
}

/** The same step as `trainStep`, measured by the memory meter. */
export async function trainStepMeasured(
  ctx: StepContext,
  batch: Batch,
): Promise<{ loss: number; memory: StepMemory }> {
  const forward = ctx.forward ?? defaultForward(ctx.model);
  const lossFn = resolveLoss(ctx.model, ctx.loss);
  return measureStep({
    variables: trainableVariables(ctx.model),
    weights: allWeights(ctx.model),
    optimizer: ctx.optimizer,
    inputs: [batch.xs, batch.ys],
    loss: (mark) => {
      const loss = lossFn.mean(batch.ys, forward(batch.xs, true));
      mark();
      return loss;
    },
  });
}
