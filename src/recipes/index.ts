// Training recipes that cut time to accuracy. Each part plugs into the one training-step seam
// (src/train/gradients.ts StepHooks): SAM and gradient centralisation as gradients hooks, label
// smoothing as the step's loss, patch whitening as the first conv's initial weights.
import type * as tf from '@tensorflow/tfjs';
import type { StepHooks } from '../train/gradients.js';
import { isPlainRecipe, type RecipeConfig } from './config.js';
import { type CotOptions, cotHooks } from './cot.js';
import { gradientCentralization } from './gradient-centralization.js';
import { labelSmoothingLoss } from './label-smoothing.js';
import { budgetSchedule, type ScheduleSpan } from './lr-schedule.js';
import { applyPatchWhitening, type WhiteningResult } from './patch-whitening.js';
import { samGradients } from './sam.js';
import { weightDecayHooks } from './weight-decay.js';

// Data recipes (SwiftLearn, batch augmentation, mixed-size): a BatchPlan for TrainOptions.batchPlan.
export * from './batch-augment.js';
export { Celu, celu, celuComposite, useCelu } from './celu.js';
export { celuKernel, celuKernelActive, registerCeluKernels } from './celu-kernel.js';
export * from './config.js';
export * from './cot.js';
export * from './data-config.js';
export { centralize, gradientCentralization } from './gradient-centralization.js';
export * from './importance-gain.js';
export { labelSmoothingLoss, smoothLabels } from './label-smoothing.js';
export * from './lr-schedule.js';
export * from './mixed-size.js';
export * from './opt.js';
export * from './opt-conv.js';
export {
  applyPatchWhitening,
  extractPatches,
  type PatchStats,
  patchStats,
  type WhiteningResult,
  whiteningFilters,
} from './patch-whitening.js';
export * from './recipe-model.js';
export { samGradients } from './sam.js';
export * from './swiftlearn.js';
export * from './use-opt.js';
export { weightDecayHooks } from './weight-decay.js';

/** One callback that runs `prev` (when there is one), then `f`. */
function inOrder<A>(prev: ((a: A) => void) | undefined, f: (a: A) => void): (a: A) => void {
  return prev
    ? (a) => {
        prev(a);
        f(a);
      }
    : f;
}

/**
 * One StepHooks from several: losses chain (first innermost), gradients hooks nest (the later
 * wraps the earlier: its `pass` runs the earlier hook), beforeStep and afterUpdate hooks run in
 * order.
 */
export function composeHooks(parts: StepHooks[]): StepHooks {
  const out: StepHooks = {};
  for (const h of parts) {
    if (h.loss) {
      const prev = out.loss;
      const f = h.loss;
      out.loss = prev ? (base) => f(prev(base)) : f;
    }
    if (h.gradients) {
      const prev = out.gradients;
      const f = h.gradients;
      out.gradients = prev ? (pass, ctx, batch) => f(() => prev(pass, ctx, batch), ctx, batch) : f;
    }
    if (h.beforeStep) out.beforeStep = inOrder(out.beforeStep, h.beforeStep);
    if (h.afterUpdate) out.afterUpdate = inOrder(out.afterUpdate, h.afterUpdate);
  }
  return out;
}

/**
 * The step hooks of a recipe config (SAM innermost, gradient centralisation on its result; after
 * the update: weight decay, then the COT complement step; before the step: the schedule's rate).
 * `learningRate` (the peak with a schedule) is needed with weight decay and the schedule;
 * `schedule` says how long the run is (its time budget or step count) when the recipe has a
 * schedule; `cot` passes the complement step's own optimizer.
 */
export function recipeHooks(
  c: RecipeConfig,
  extra: { learningRate?: number; cot?: CotOptions; schedule?: ScheduleSpan } = {},
): StepHooks {
  const parts: StepHooks[] = [];
  if (c.schedule !== null) {
    if (extra.learningRate === undefined)
      throw new Error('the budget schedule needs the (peak) learning rate');
    if (!extra.schedule)
      throw new Error(
        "the budget schedule needs the run's length: its time budget (budgetMs) or step count (totalSteps)",
      );
    parts.push(budgetSchedule(extra.learningRate, c.schedule, extra.schedule));
  }
  if (c.labelSmoothing !== null) {
    const eps = c.labelSmoothing;
    parts.push({ loss: (base) => labelSmoothingLoss(base, eps) });
  }
  if (c.samRho !== null) parts.push({ gradients: samGradients(c.samRho, c.samEvery) });
  if (c.gradientCentralization) parts.push({ gradients: gradientCentralization() });
  if (c.weightDecay !== null) {
    if (extra.learningRate === undefined) throw new Error('weight decay needs the learning rate');
    parts.push(weightDecayHooks(c.weightDecay, extra.learningRate));
  }
  if (c.cot) parts.push(cotHooks(extra.cot));
  return composeHooks(parts);
}

export interface PreparedRecipe {
  config: RecipeConfig;
  hooks: StepHooks | undefined;
  whitening?: WhiteningResult;
}

/**
 * Readies `model` for a recipe: patch whitening (from `trainImages`, a sample of the training
 * split [N, H, W, C], when the recipe whitens) and the step hooks to pass to `train`. The parts
 * that change layers (CELU, OPT) make a new model: call `recipeModel` first.
 */
export function prepareRecipe(
  model: tf.LayersModel,
  c: RecipeConfig,
  trainImages?: () => tf.Tensor4D,
  extra: Parameters<typeof recipeHooks>[1] = {},
): PreparedRecipe {
  if (isPlainRecipe(c)) return { config: c, hooks: undefined };
  let whitening: WhiteningResult | undefined;
  if (c.patchWhitening !== null) {
    if (!trainImages) throw new Error('patch whitening needs training images');
    const images = trainImages();
    try {
      whitening = applyPatchWhitening(model, images, c.patchWhitening);
    } finally {
      images.dispose();
    }
  }
  const hooks = recipeHooks(c, extra);
  return { config: c, hooks: Object.keys(hooks).length > 0 ? hooks : undefined, whitening };
}
