import * as tf from '@tensorflow/tfjs';
import { type Batch, type ClassificationData, gatherBatch } from '../../src/data/dataset.js';
import { loadMnist } from '../../src/data/mnist.js';
import { initEngine } from '../../src/engine/backend.js';
import { makeRng, normal } from '../../src/engine/random.js';
import { argValue, numberArg } from './args.js';

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

/**
 * The set-up of a one-batch MNIST benchmark: `--backend` (default wasm) and `--batch` (default
 * 32) from the command line, the engine started on that backend (seed 0), and the first `--batch`
 * training digits (seed 1) laid out as `layout`. The caller disposes the batch.
 */
export async function mnistBatchBench(
  layout: 'image' | 'sequence',
): Promise<{ backend: string; batchSize: number; batch: Batch }> {
  const backend = argValue('backend', 'wasm');
  const batchSize = numberArg('batch', 32);
  await initEngine({ backend, seed: 0 });
  const data = loadMnist({ trainCount: batchSize, testCount: 10, seed: 1, layout });
  return { backend, batchSize, batch: firstRows(data, batchSize) };
}
