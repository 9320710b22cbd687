import * as tf from '@tensorflow/tfjs';
import { makeRng, permutation } from '../engine/random.js';

/** One split of a classification data set, held in flat typed arrays (not tfjs tensors). */
export interface Split {
  /** Samples, row-major, `count * prod(sampleShape)` values. */
  x: Float32Array;
  /** Integer class labels, one per sample. */
  y: Int32Array;
  count: number;
}

export interface ClassificationData {
  name: string;
  /** Shape of one sample, e.g. [28, 28, 1]. */
  sampleShape: number[];
  numClasses: number;
  train: Split;
  test: Split;
}

/** A batch as tensors: the caller owns (and disposes) `xs` and `ys`. */
export interface Batch {
  xs: tf.Tensor;
  /** One-hot labels, float32 [size, numClasses]. */
  ys: tf.Tensor2D;
  labels: Int32Array;
  size: number;
  /** The split rows the batch holds, in order (gatherBatch sets it; a sample-weighting plan reads it). */
  rows?: Int32Array;
}

export interface BatchOptions {
  shuffle?: boolean;
  seed?: number;
  /** Drop the last batch when it is smaller than batchSize. */
  dropRemainder?: boolean;
}

export function sampleSize(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Checks a requested sample count against what a source holds, with an error that says both. */
export function checkCount(
  what: string,
  requested: number,
  available: number,
  /** What the counts default to, e.g. 'train 8000, test 2000 of the 10000': shown in the error. */
  defaults?: string,
): void {
  const note = defaults ? ` (defaults: ${defaults})` : '';
  if (!Number.isInteger(requested) || requested < 1) {
    throw new Error(`${what}: sample count must be a positive integer, got ${requested}${note}`);
  }
  if (requested > available) {
    throw new Error(`${what}: ${requested} samples requested but only ${available} exist${note}`);
  }
}

/** Gathers the rows `idx[from..to)` of a split into a batch of tensors. */
export function gatherBatch(
  split: Split,
  sampleShape: number[],
  numClasses: number,
  idx: ArrayLike<number>,
  from: number,
  to: number,
): Batch {
  const size = to - from;
  const per = sampleSize(sampleShape);
  const x = new Float32Array(size * per);
  const labels = new Int32Array(size);
  const rows = new Int32Array(size);
  for (let i = 0; i < size; i++) {
    const r = idx[from + i];
    rows[i] = r;
    x.set(split.x.subarray(r * per, (r + 1) * per), i * per);
    labels[i] = split.y[r];
  }
  const xs = tf.tensor(x, [size, ...sampleShape]);
  const ys = tf.tidy(() =>
    tf.oneHot(tf.tensor1d(labels, 'int32'), numClasses).toFloat(),
  ) as tf.Tensor2D;
  return { xs, ys, labels, size, rows };
}

/**
 * Iterates over a split in batches. Deterministic for a given seed. Each yielded batch's tensors
 * belong to the caller.
 */
export function* batches(
  data: ClassificationData,
  which: 'train' | 'test',
  batchSize: number,
  options: BatchOptions = {},
): Generator<Batch> {
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new Error(`batch size must be a positive integer, got ${batchSize}`);
  }
  const split = data[which];
  const idx = options.shuffle
    ? permutation(split.count, makeRng(options.seed ?? 0))
    : Int32Array.from({ length: split.count }, (_, i) => i);
  for (let from = 0; from < split.count; from += batchSize) {
    const to = Math.min(from + batchSize, split.count);
    if (options.dropRemainder && to - from < batchSize) break;
    yield gatherBatch(split, data.sampleShape, data.numClasses, idx, from, to);
  }
}

/** Number of batches `batches` yields. */
export function batchCount(count: number, batchSize: number, dropRemainder = false): number {
  return dropRemainder ? Math.floor(count / batchSize) : Math.ceil(count / batchSize);
}

/** The same batches as a `tf.data.Dataset` of `{xs, ys}`, for users of `model.fitDataset`. */
export function toTfDataset(
  data: ClassificationData,
  which: 'train' | 'test',
  batchSize: number,
  options: BatchOptions = {},
): tf.data.Dataset<{ xs: tf.Tensor; ys: tf.Tensor }> {
  return tf.data.generator(function* () {
    for (const b of batches(data, which, batchSize, options)) yield { xs: b.xs, ys: b.ys };
  } as () => Iterator<{ xs: tf.Tensor; ys: tf.Tensor }>);
}

/** Splits `count` shuffled indices of a pool into train and test, deterministically by seed. */
export function splitIndices(
  total: number,
  trainCount: number,
  testCount: number,
  seed: number,
): { train: Int32Array; test: Int32Array } {
  checkCount('train+test', trainCount + testCount, total);
  const p = permutation(total, makeRng(seed));
  return { train: p.slice(0, trainCount), test: p.slice(trainCount, trainCount + testCount) };
}

/** Copies the listed rows of a pool into a new split. */
export function takeRows(x: Float32Array, y: Int32Array, per: number, rows: Int32Array): Split {
  const out = new Float32Array(rows.length * per);
  const labels = new Int32Array(rows.length);
  rows.forEach((r, i) => {
    out.set(x.subarray(r * per, (r + 1) * per), i * per);
    labels[i] = y[r];
  });
  return { x: out, y: labels, count: rows.length };
}
