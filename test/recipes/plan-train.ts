import type * as tf from '@tensorflow/tfjs';
import type { ClassificationData } from '../../src/data/dataset.js';
import { syntheticClassification } from '../../src/data/synthetic.js';
import { type TrainOptions, type TrainResult, train } from '../../src/train/loop.js';

/**
 * Trains `model` on `d` through frugal's loop (batch 8 and seed 1 unless told, no memory meter)
 * with the run options `run` (a batch plan, hooks, a progress callback): the loop's result and
 * the step count each epoch started with, as the loop announced it.
 */
export async function trainWithPlan(
  model: tf.LayersModel,
  d: ClassificationData,
  { epochs, seed = 1, batchSize = 8 }: { epochs: number; seed?: number; batchSize?: number },
  run: TrainOptions = {},
): Promise<{ result: TrainResult; epochSteps: number[] }> {
  const epochSteps: number[] = [];
  const result = await train(
    model,
    d,
    { epochs, batchSize, seed, measureMemory: false },
    {
      ...run,
      onProgress: (e) => {
        if (e.kind === 'epoch-start') epochSteps.push(e.steps);
        run.onProgress?.(e);
      },
    },
  );
  return { result, epochSteps };
}

/** The SwiftLearn tests' data: 40 training and 24 test images of 8x8x1, 3 classes, seed 3. */
export const swiftLearnData = (): ClassificationData =>
  syntheticClassification({
    sampleShape: [8, 8, 1],
    numClasses: 3,
    trainCount: 40,
    testCount: 24,
    seed: 3,
  });
