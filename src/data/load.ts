import type { ClassificationData } from './dataset.js';
import { loadMnist } from './mnist.js';
import { syntheticClassification } from './synthetic.js';

export const DATASETS = ['mnist', 'synthetic'] as const;
export type DatasetName = (typeof DATASETS)[number];

export interface LoadOptions {
  layout: 'image' | 'sequence';
  trainCount?: number;
  testCount?: number;
  seed?: number;
}

/** Loads a named data set in the layout a model expects (Node: MNIST reads the `mnist` package). */
export function loadDataset(name: string, options: LoadOptions): ClassificationData {
  switch (name) {
    case 'mnist':
      return loadMnist(options);
    case 'synthetic':
      return syntheticClassification({
        sampleShape: options.layout === 'sequence' ? [16, 8] : [12, 12, 1],
        numClasses: 4,
        trainCount: options.trainCount ?? 512,
        testCount: options.testCount ?? 256,
        seed: options.seed,
      });
    default:
      throw new Error(`Unknown dataset '${name}': choose one of ${DATASETS.join(', ')}`);
  }
}
