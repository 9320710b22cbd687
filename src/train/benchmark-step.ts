import * as tf from '@tensorflow/tfjs';
import { batches } from '../data/dataset.js';
import { syntheticClassification } from '../data/synthetic.js';
import type { StepMemory } from '../report/memory-meter.js';
import { makeOptimizer, type OptimizerName } from './optimizer.js';
import type { TaskProgressCallback } from './progress.js';
import { type ForwardFn, trainStep, trainStepMeasured } from './step.js';
import { taskReporter } from './task-reporter.js';

export interface StepBenchmarkOptions {
  batchSize: number;
  /** Timed steps after one warm-up step and one measured (memory) step. */
  steps: number;
  numClasses: number;
  optimizer?: OptimizerName;
  forward?: ForwardFn;
  /** Hears of each step: one task of `steps + 2` units. */
  onProgress?: TaskProgressCallback;
}

export interface StepBenchmark {
  batchSize: number;
  /** Mean wall time of one training step (forward, backward, update). */
  stepMs: number;
  samplesPerSecond: number;
  memory: StepMemory;
}

/**
 * Times training steps of a model on random inputs of its input shape: one warm-up step, one
 * step measured by the memory meter, then `steps` timed steps. The model's weights change.
 */
export async function benchmarkStep(
  model: tf.LayersModel,
  o: StepBenchmarkOptions,
): Promise<StepBenchmark> {
  if (!Number.isInteger(o.steps) || o.steps < 1)
    throw new Error(`steps must be a positive integer, got ${o.steps}`);
  const shape = model.inputs[0].shape.slice(1);
  if (shape.some((d) => d == null))
    throw new Error(`model input shape [${shape}] must be fully defined`);
  const data = syntheticClassification({
    sampleShape: shape as number[],
    numClasses: o.numClasses,
    trainCount: o.batchSize * (o.steps + 2),
    testCount: 1,
  });
  const optimizer = makeOptimizer(o.optimizer ?? 'adam', 1e-3);
  const ctx = { model, optimizer, forward: o.forward };
  let memory: StepMemory | undefined;
  let timed = 0;
  let i = 0;
  const tick = taskReporter(o.onProgress, `${o.steps + 2} training steps`, o.steps + 2);
  try {
    for (const batch of batches(data, 'train', o.batchSize, { dropRemainder: true })) {
      try {
        if (i === 1) memory = (await trainStepMeasured(ctx, batch)).memory;
        else {
          const t0 = performance.now();
          trainStep(ctx, batch);
          if (i > 1) timed += performance.now() - t0;
        }
      } finally {
        tf.dispose([batch.xs, batch.ys]);
      }
      tick(i === 0 ? 'warm-up' : i === 1 ? 'memory-measured' : 'timed');
      i++;
    }
  } finally {
    optimizer.dispose();
  }
  const stepMs = timed / o.steps;
  return {
    batchSize: o.batchSize,
    stepMs,
    samplesPerSecond: (o.batchSize / stepMs) * 1000,
    memory: memory!,
  };
}
