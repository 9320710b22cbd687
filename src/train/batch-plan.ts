// The loop's data seam: which rows an epoch trains on, how many rows each step takes, and a
// change to each batch before its step. Data recipes (src/recipes: SwiftLearn, batch
// augmentation, mixed-size training) plug in here so that the one training loop runs them.
import type { Batch, ClassificationData } from '../data/dataset.js';

export interface BatchPlan {
  /**
   * The training rows of `epoch` (1-based), or undefined for all of them; the loop shuffles them
   * (seeded). Runs inside the loop, so its time (e.g. scoring samples) counts in the run's wall
   * time and the time budget.
   */
  epochRows?: (epoch: number, data: ClassificationData) => Int32Array | undefined;
  /** Rows in the batch of the `step`-th step of the run (0-based over the run); default the config's batch size. */
  batchSize?: (step: number, base: number) => number;
  /**
   * Replaces the batch of the `step`-th step (0-based over the run) before the step: the loop
   * disposes both the original and the returned batch's tensors after it.
   */
  transform?: (batch: Batch, step: number) => Batch;
}

/** Splits `rows` rows into step sizes from the plan (the last one takes what is left). */
export function planSteps(
  rows: number,
  base: number,
  firstStep: number,
  plan: BatchPlan | undefined,
): number[] {
  const sizes: number[] = [];
  let left = rows;
  while (left > 0) {
    const s = plan?.batchSize ? plan.batchSize(firstStep + sizes.length, base) : base;
    if (!Number.isInteger(s) || s < 1)
      throw new Error(`batch plan: batch size must be a positive integer, got ${s}`);
    sizes.push(Math.min(s, left));
    left -= s;
  }
  return sizes;
}
