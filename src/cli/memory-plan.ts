import type * as tf from '@tensorflow/tfjs';
import { batches, type ClassificationData } from '../data/dataset.js';
import { type EngineInfo, initEngine } from '../engine/backend.js';
import { useFastKernels, useStockKernels } from '../kernels/index.js';
import { planRemat, type RematPlan } from '../remat/plan-model.js';
import type { TaskProgressCallback } from '../train/progress.js';

/**
 * Selects the backend and installs frugal's fast training kernels (or, with `fastKernels:
 * false`, puts tfjs's stock ones back): the engine every training command profiles and trains on.
 */
export async function startEngine(o: {
  backend: string;
  seed?: number;
  fastKernels?: boolean;
  /** XNNPACK threads (wasm; see initEngine). */
  threads?: number;
}): Promise<EngineInfo> {
  const engine = await initEngine({ backend: o.backend, seed: o.seed, threads: o.threads });
  if (o.fastKernels === false) useStockKernels();
  else useFastKernels();
  return engine;
}

export interface StepPlanOptions {
  batch: number;
  /** Activation memory budget in bytes. */
  memoryBudget: number;
  /** The optimizer training will use (its update's buffers count). */
  optimizer: tf.Optimizer;
  /** Keep modes and compressed tape bits, as `rematTapeBits` reads them from the options. */
  modes?: 'exact' | 'joint';
  compressedBits?: number[];
  /** Timed repetitions per stage measurement (default 3). */
  repeats?: number;
  onProgress?: TaskProgressCallback;
}

/**
 * The memory plan of a training step on the first training batch of `data`: the one function
 * behind `train --memory-budget` (which trains with its forward) and `frugal plan` (which
 * prints it), so that plan previews what train does. Call after `startEngine`.
 */
export function planTrainingStep(
  model: tf.LayersModel,
  data: ClassificationData,
  o: StepPlanOptions,
): RematPlan {
  const sample = batches(data, 'train', o.batch).next().value;
  if (!sample) throw new Error('no training batch to plan with');
  try {
    return planRemat(model, sample, o.memoryBudget, {
      modes: o.modes,
      compressedBits: o.compressedBits,
      optimizer: o.optimizer,
      repeats: o.repeats,
      onProgress: o.onProgress,
    });
  } finally {
    sample.xs.dispose();
    sample.ys.dispose();
  }
}
