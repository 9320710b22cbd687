import type * as tf from '@tensorflow/tfjs';
import type { Batch } from '../data/dataset.js';
import { measureStep, type StepMemory } from '../report/memory-meter.js';
import {
  applyStep,
  defaultForward,
  type ForwardFn,
  type GradientContext,
  type StepHooks,
  trainableVariables,
} from './gradients.js';
import { type Loss, type LossName, resolveLoss } from './loss.js';

export { defaultForward, type ForwardFn, trainableVariables } from './gradients.js';
export { classificationLoss } from './loss.js';

export function allWeights(model: tf.LayersModel): tf.Tensor[] {
  return model.weights.map((w) => w.read());
}

export interface StepContext {
  model: tf.LayersModel;
  optimizer: tf.Optimizer;
  forward?: ForwardFn;
  /** The loss, or what the model outputs (see LOSSES); default 'auto'. */
  loss?: LossName | Loss;
  /** A recipe's hooks into the step (see StepHooks): extra passes, gradient changes, post-update work. */
  hooks?: StepHooks;
}

/** The gradient pass of a model-level step: the model's trainable variables, forward and loss. */
export function gradientContext(ctx: StepContext): GradientContext {
  return {
    variables: trainableVariables(ctx.model),
    forward: ctx.forward ?? defaultForward(ctx.model),
    loss: resolveLoss(ctx.model, ctx.loss),
  };
}

/** One training step (forward, backward, update). Returns the loss; leaves no tensors behind. */
export function trainStep(ctx: StepContext, batch: Batch): number {
  const value = applyStep(gradientContext(ctx), ctx.optimizer, batch, ctx.hooks);
  const v = value.dataSync()[0];
  value.dispose();
  return v;
}

/** The same step as `trainStep` (hooks included), measured by the memory meter. */
export async function trainStepMeasured(
  ctx: StepContext,
  batch: Batch,
): Promise<{ loss: number; memory: StepMemory }> {
  const g = gradientContext(ctx);
  return measureStep({
    variables: g.variables,
    weights: allWeights(ctx.model),
    optimizer: ctx.optimizer,
    inputs: [batch.xs, batch.ys],
    run: (markForwardEnd) =>
      applyStep(g, ctx.optimizer, batch, ctx.hooks, { onForwardEnd: markForwardEnd }),
  });
}
