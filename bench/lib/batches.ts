import * as tf from '@tensorflow/tfjs';
import { type Batch, type ClassificationData, gatherBatch } from '../../src/data/dataset.js';
import { makeRng, normal } from '../../src/engine/random.js';

/**
 * A batch of standard-normal inputs of `shape` per sample and uniform labels of `numClasses`
 * classes, from one seeded generator (inputs first, then labels). The caller disposes it.
 */
export function randomBatch(shape: number[], size: number, seed: number, numClasses = 10): Batch {
  const rng = makeRng(seed);
  const xs = tf.tensor(
    Float32Array.from({ length: size * shape.reduce((p, q) => p * q, 1) }, () => normal(rng)),
    [size, ...shape],
  );
  const labels = Int32Array.from({ length: size }, () => Math.floor(rng() * numClasses));
  const ys = tf.oneHot(tf.tensor1d(labels, 'int32'), numClasses).toFloat() as tf.Tensor2D;
  return { xs, ys, labels, size };
}

/** The first `size` training samples of `data`, in order, wrapping around. The caller disposes it. */
export function firstRows(data: ClassificationData, size: number): Batch {
  const rows = Int32Array.from({ length: size }, (_, i) => i % data.train.count);
  return gatherBatch(data.train, data.sampleShape, data.numClasses, rows, 0, size);
}

/** Disposes a batch's tensors. */
export function disposeBatch(b: Batch): void {
  tf.dispose([b.xs, b.ys]);
}
