// Batch augmentation (Hoffer et al., "Augment your batch", CVPR 2020): every sample appears M
// times in the same batch, each copy with its own random augmentation, so one step sees M x B
// images. The paper keeps the baseline's optimiser settings (learning rate and schedule) while the
// batch grows M-fold: the copies are not independent samples, so the learning rate is not scaled
// with the batch; the gain is fewer steps to an accuracy (lower gradient variance per step).
// frugal follows that: the learning rate is left as configured and the loss is the mean over the
// M x B images. Augmentations are tensor ops on [N, H, W, C] images with a seeded JS generator
// (deterministic under a seed): random shift (zero padding then a crop back to H x W), cutout
// (a zeroed square), and optional horizontal flips (off by default: wrong for digits).
import * as tf from '@tensorflow/tfjs';
import type { Batch } from '../data/dataset.js';
import { makeRng, type Rng } from '../engine/random.js';
import type { BatchPlan } from '../train/batch-plan.js';

export interface AugmentConfig {
  /** Largest shift in pixels along each axis (zero padding then crop); 0 for none. */
  shift: number;
  /** Side of the zeroed cutout square in pixels; 0 for none. */
  cutout: number;
  /** Flip each image left-right with probability 1/2. */
  flip: boolean;
}

export interface BatchAugmentConfig extends AugmentConfig {
  /** Copies of each sample in a batch (>= 2). */
  copies: number;
  seed: number;
}

export const DEFAULT_AUGMENT: AugmentConfig = { shift: 2, cutout: 8, flip: false };

function int(rng: Rng, lo: number, hi: number): number {
  return lo + Math.floor(rng() * (hi - lo + 1));
}

/** Independent random augmentations of each image of `xs` [N, H, W, C]; same shape. */
export function augmentImages(xs: tf.Tensor4D, a: AugmentConfig, rng: Rng): tf.Tensor4D {
  const [n, h, w] = xs.shape;
  return tf.tidy(() => {
    let x = xs;
    if (a.shift > 0) {
      const p = a.shift;
      const padded = tf.pad(x, [
        [0, 0],
        [p, p],
        [p, p],
        [0, 0],
      ]);
      // Each output pixel reads its shifted source in the padded batch through one gather
      // (tf.image.cropAndResize would do it, but the wasm backend's ignores the box's x offset).
      const [hp, wp] = [h + 2 * p, w + 2 * p];
      const src = new Int32Array(n * h * w);
      for (let i = 0; i < n; i++) {
        const y0 = p + int(rng, -p, p);
        const x0 = p + int(rng, -p, p);
        for (let r = 0; r < h; r++)
          for (let q = 0; q < w; q++) src[(i * h + r) * w + q] = (i * hp + y0 + r) * wp + x0 + q;
      }
      const c = xs.shape[3];
      const rows = tf.reshape(padded, [n * hp * wp, c]);
      x = tf.reshape(tf.gather(rows, tf.tensor1d(src, 'int32')), [n, h, w, c]);
    }
    if (a.cutout > 0) {
      const cy = new Float32Array(n);
      const cx = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        cy[i] = int(rng, 0, h - 1);
        cx[i] = int(rng, 0, w - 1);
      }
      const half = a.cutout / 2;
      const rows = tf.range(0, h).reshape([1, h, 1, 1]);
      const cols = tf.range(0, w).reshape([1, 1, w, 1]);
      const inY = tf.less(tf.abs(tf.sub(rows, tf.tensor(cy, [n, 1, 1, 1]))), half);
      const inX = tf.less(tf.abs(tf.sub(cols, tf.tensor(cx, [n, 1, 1, 1]))), half);
      const keep = tf.logicalNot(tf.logicalAnd(inY, inX)).toFloat();
      x = tf.mul(x, keep);
    }
    if (a.flip) {
      const flags = new Float32Array(n);
      for (let i = 0; i < n; i++) flags[i] = rng() < 0.5 ? 1 : 0;
      const f = tf.tensor(flags, [n, 1, 1, 1]);
      x = tf.add(tf.mul(tf.reverse(x, 2), f), tf.mul(x, tf.sub(1, f)));
    }
    return x as tf.Tensor4D;
  });
}

/** Each row of `t` `m` times in a row (copies of a sample are adjacent). */
export function repeatRows<T extends tf.Tensor>(t: T, m: number): T {
  return tf.tidy(() => {
    const shape = t.shape;
    const e = tf.expandDims(t, 1);
    const reps = [1, m, ...shape.slice(1).map(() => 1)];
    return tf.reshape(tf.tile(e, reps), [shape[0] * m, ...shape.slice(1)]) as T;
  });
}

/** `batch` with each sample `m` times, every copy augmented on its own. */
export function augmentBatch(batch: Batch, m: number, a: AugmentConfig, rng: Rng): Batch {
  if (batch.xs.rank !== 4)
    throw new Error(
      `batch augmentation needs image batches [N, H, W, C], got rank ${batch.xs.rank}`,
    );
  const rep = repeatRows(batch.xs as tf.Tensor4D, m);
  const xs = augmentImages(rep, a, rng);
  rep.dispose();
  const ys = repeatRows(batch.ys, m);
  const labels = new Int32Array(batch.size * m);
  for (let i = 0; i < batch.size; i++) labels.fill(batch.labels[i], i * m, (i + 1) * m);
  return { xs, ys, labels, size: batch.size * m };
}

/** A BatchPlan whose transform replaces each batch by its batch augmentation (seeded per step). */
export function batchAugment(c: BatchAugmentConfig): BatchPlan {
  return {
    transform: (batch, step) =>
      augmentBatch(batch, c.copies, c, makeRng((c.seed * 1_000_003 + step * 7919 + 17) >>> 0)),
  };
}
