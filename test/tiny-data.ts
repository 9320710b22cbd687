import type { ClassificationData } from '../src/data/dataset.js';
import { syntheticClassification } from '../src/data/synthetic.js';

/**
 * The synthetic Gaussian-blob set (src/data/synthetic.ts) of `sampleShape` samples: 3 classes, as
 * the tiny models have, and 128 test samples unless told otherwise.
 */
export function tinyData(
  sampleShape: number[],
  trainCount: number,
  seed: number,
  { testCount, numClasses = 3 }: { testCount?: number; numClasses?: number } = {},
): ClassificationData {
  return syntheticClassification({ sampleShape, numClasses, trainCount, testCount, seed });
}
