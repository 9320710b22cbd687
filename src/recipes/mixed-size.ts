// Mixed-size training (Hoffer et al., "Mix & Match", 2019): the image size of each step is drawn
// from a distribution; the compute of a step is kept about equal to the base size's by the
// paper's rule, scaling the number of images by (base/size)^2, either as a larger batch of new
// samples ('batch', the paper's B+) or as augmented duplicates of each sample ('duplicates', D+,
// batch augmentation). Evaluation stays at the base size (the loop evaluates the data as loaded).
// The learning rate is left as configured (frugal trains with Adam by default, whose step does
// not scale with the batch; the paper's SGD regime is not reproduced). Needs a model that takes
// any spatial size: convolutions and a global pooling head (the zoo 'resnet'), not a Flatten
// head (the zoo 'cnn').
import * as tf from '@tensorflow/tfjs';
import type { Batch } from '../data/dataset.js';
import { makeRng } from '../engine/random.js';
import type { BatchPlan } from '../train/batch-plan.js';
import { type AugmentConfig, augmentBatch, DEFAULT_AUGMENT } from './batch-augment.js';

export const MIXED_SIZE_MODES = ['batch', 'duplicates'] as const;
export type MixedSizeMode = (typeof MIXED_SIZE_MODES)[number];

export interface MixedSizeConfig {
  /** Image sizes (height in pixels; width scales with it) to draw from. */
  sizes: number[];
  /** Probability of each size (same length, sums to 1); null for uniform. */
  probabilities: number[] | null;
  mode: MixedSizeMode;
  seed: number;
  /** Augmentation of the duplicates in 'duplicates' mode. */
  augment?: AugmentConfig;
}

export interface MixedSizePlan extends BatchPlan {
  /** The image size (height) of the run's `step`-th step. */
  sizeAt: (step: number) => number;
  /** How many images a step at `size` takes per base-size image: (base/size)^2, rounded. */
  factor: (size: number) => number;
}

/**
 * Throws a clear error unless `model` runs on images of every size in `sizes` (a Flatten layer
 * fixes the spatial size: use a global-pooling model such as the zoo 'resnet').
 */
export function checkVariableSize(
  model: tf.LayersModel,
  sampleShape: number[],
  sizes: number[],
): void {
  if (sampleShape.length !== 3)
    throw new Error(`mixed-size training needs image samples [H, W, C], got [${sampleShape}]`);
  const flatten = model.layers.find((l) => l.getClassName() === 'Flatten');
  if (flatten)
    throw new Error(
      `mixed-size training: model '${model.name}' has a Flatten layer ('${flatten.name}'), which fixes the image size; use a model with a global pooling head (e.g. the zoo 'resnet')`,
    );
  const [h, w, c] = sampleShape;
  for (const s of sizes) {
    const sw = Math.max(1, Math.round((w * s) / h));
    try {
      tf.tidy(() => {
        model.apply(tf.zeros([1, s, sw, c]), { training: false });
      });
    } catch (e) {
      throw new Error(
        `mixed-size training: model '${model.name}' does not take ${s}x${sw} images: ${(e as Error).message}`,
      );
    }
  }
}

/** Resizes image batch `xs` [N, H, W, C] to height `size` (bilinear; width in proportion). */
export function resizeTo(xs: tf.Tensor4D, size: number): tf.Tensor4D {
  const [, h, w] = xs.shape;
  if (size === h) return xs.clone();
  return tf.image.resizeBilinear(xs, [size, Math.max(1, Math.round((w * size) / h))]);
}

/** The BatchPlan of mixed-size training for images of height `baseSize`. */
export function mixedSize(c: MixedSizeConfig, baseSize: number): MixedSizePlan {
  const probs = c.probabilities ?? c.sizes.map(() => 1 / c.sizes.length);
  const sizeAt = (step: number) => {
    const u = makeRng((c.seed * 2_654_435_761 + step * 40_503 + 7) >>> 0)();
    let acc = 0;
    for (let i = 0; i < c.sizes.length; i++) {
      acc += probs[i];
      if (u < acc) return c.sizes[i];
    }
    return c.sizes[c.sizes.length - 1];
  };
  const factor = (size: number) => (baseSize / size) ** 2;
  const augment = c.augment ?? DEFAULT_AUGMENT;
  return {
    sizeAt,
    factor,
    batchSize:
      c.mode === 'batch'
        ? (step, base) => Math.max(1, Math.round(base * factor(sizeAt(step))))
        : undefined,
    transform: (batch: Batch, step: number): Batch => {
      const size = sizeAt(step);
      let b = batch;
      const m = Math.max(1, Math.round(factor(size)));
      if (c.mode === 'duplicates' && m > 1)
        b = augmentBatch(batch, m, augment, makeRng((c.seed * 31 + step * 977 + 3) >>> 0));
      const xs = resizeTo(b.xs as tf.Tensor4D, size);
      if (b !== batch) b.xs.dispose();
      return { xs, ys: b === batch ? batch.ys.clone() : b.ys, labels: b.labels, size: b.size };
    },
  };
}
