// The one training-step seam. Every training step in frugal (trainStep, the memory-metered step,
// the data-parallel replicas, masked fine-tuning) computes its gradients with `computeGradients`
// and updates through `applyStep`. What varies between them plugs in here:
// - the forward pass (`ForwardFn`: checkpointed, compressed activations, fake-quantized for QAT);
// - the loss (`Loss`: logits, probabilities, regression; see loss.ts);
// - a recipe that needs several passes or changes the gradients (`StepHooks.gradients`: SAM
//   perturbs the weights and runs a second pass, a sparse backward masks the gradients);
// - work after the update (`StepHooks.afterUpdate`: re-applying sparsity masks) and before the
//   step (`StepHooks.beforeStep`: a learning-rate schedule).
// The memory meter measures whatever runs here (it wraps `applyStep`), so a recipe's extra
// passes and buffers are counted in its report.
import * as tf from '@tensorflow/tfjs';
import type { Loss } from './loss.js';

/** Computes the model's outputs from a batch of inputs; defaults to `model.apply(xs, {training})`. */
export type ForwardFn = (xs: tf.Tensor, training: boolean) => tf.Tensor;

export function defaultForward(model: tf.LayersModel): ForwardFn {
  return (xs, training) => model.apply(xs, { training }) as tf.Tensor;
}

/** The tfjs variables behind a model's trainable weights. */
export function trainableVariables(model: tf.LayersModel): tf.Variable[] {
  return model.trainableWeights.map((w) => w.read() as tf.Variable);
}

/** What one gradient pass needs. */
export interface GradientContext {
  /** The variables to differentiate (a model's trainable ones, or a subset). */
  variables: tf.Variable[];
  forward: ForwardFn;
  loss: Loss;
}

/** The tensors of a batch a pass reads: inputs and targets. */
export interface BatchTensors {
  xs: tf.Tensor;
  ys: tf.Tensor;
}

/** A pass's result: the loss it differentiated and one gradient per variable name. */
export interface Gradients {
  value: tf.Scalar;
  grads: tf.NamedTensorMap;
}

export interface PassOptions {
  /**
   * Called after the forward pass and the loss, before the backward pass, on every pass (the
   * memory meter counts the bytes saved for backward here).
   */
  onForwardEnd?: () => void;
  /** Multiplies the loss before differentiating (a data-parallel shard's share of the batch). */
  scale?: number;
}

/** One forward and backward pass of `batch` at the current weights. Call inside a tidy. */
export function computeGradients(
  ctx: GradientContext,
  batch: BatchTensors,
  options: PassOptions = {},
): Gradients {
  return tf.variableGrads(() => {
    const mean = ctx.loss.mean(batch.ys, ctx.forward(batch.xs, true));
    const value = options.scale === undefined ? mean : (tf.mul(mean, options.scale) as tf.Scalar);
    options.onForwardEnd?.();
    return value;
  }, ctx.variables);
}

/**
 * A recipe's hold on a step. `gradients` replaces the single plain pass: it receives `pass` (one
 * `computeGradients` of the step's batch at the weights current when called) and returns the
 * loss and gradients the optimizer applies (every variable of `ctx.variables` must have the
 * weights it had on entry when it returns). It runs inside the step's tidy: tensors it does not
 * return are freed when the step ends (dispose large ones earlier to keep the peak down).
 */
export interface StepHooks {
  gradients?: (pass: () => Gradients, ctx: GradientContext, batch: BatchTensors) => Gradients;
  /**
   * Runs after the optimizer update (e.g. re-applying sparsity masks). It receives the step's
   * pass context (with the step's loss, before `loss` wraps it), batch and optimizer, so a recipe
   * can take a second update on the same batch (complement objective training does); tensors it
   * makes are its own to free.
   */
  afterUpdate?: (step: AfterUpdateContext) => void;
  /** Replaces the step's loss (label smoothing wraps it); every pass of the step uses it. */
  loss?: (base: Loss) => Loss;
  /**
   * Runs before the step's passes with the optimizer that will update (a learning-rate schedule
   * sets the step's rate here).
   */
  beforeStep?: (optimizer: tf.Optimizer) => void;
}

/** What `StepHooks.afterUpdate` receives: the step that just updated the weights. */
export interface AfterUpdateContext {
  ctx: GradientContext;
  batch: BatchTensors;
  optimizer: tf.Optimizer;
}

/** The gradients a step applies: the hook's, or one plain pass. Call inside a tidy. */
export function stepGradients(
  ctx: GradientContext,
  batch: BatchTensors,
  hooks: StepHooks = {},
  options: PassOptions = {},
): Gradients {
  const c = hooks.loss ? { ...ctx, loss: hooks.loss(ctx.loss) } : ctx;
  const pass = () => computeGradients(c, batch, options);
  return hooks.gradients ? hooks.gradients(pass, c, batch) : pass();
}

/**
 * One training step: the gradients (through the hooks), the optimizer update, then
 * `afterUpdate`. Returns the loss tensor (the caller reads and disposes it); nothing else stays.
 */
export function applyStep(
  ctx: GradientContext,
  optimizer: tf.Optimizer,
  batch: BatchTensors,
  hooks: StepHooks = {},
  options: PassOptions = {},
): tf.Scalar {
  hooks.beforeStep?.(optimizer);
  const value = tf.tidy(() => {
    const g = stepGradients(ctx, batch, hooks, options);
    optimizer.applyGradients(g.grads);
    return g.value;
  });
  hooks.afterUpdate?.({ ctx, batch, optimizer });
  return value;
}
