import * as tf from '@tensorflow/tfjs';
import { batchCount, batches, type ClassificationData } from '../data/dataset.js';
import type { StepMemory } from '../report/memory-meter.js';
import { type TrainConfig, validateTrainConfig } from './config.js';
import { evaluate } from './evaluate.js';
import { makeOptimizer } from './optimizer.js';
import type { ProgressCallback } from './progress.js';
import { type ForwardFn, trainStep, trainStepMeasured } from './step.js';

export interface EpochRecord {
  epoch: number;
  meanLoss: number;
  testAccuracy: number;
  seconds: number;
}

export interface TrainResult {
  config: TrainConfig;
  history: EpochRecord[];
  testAccuracy: number;
  /** Mean wall time of one training step, excluding the first (warm-up) and the measured one. */
  meanStepMs: number;
  samplesPerSecond: number;
  steps: number;
  memory?: StepMemory;
}

export interface TrainOptions {
  onProgress?: ProgressCallback;
  /** Custom forward pass (e.g. checkpointed); defaults to the model's own. */
  forward?: ForwardFn;
  optimizer?: tf.Optimizer;
}

/**
 * Trains a classifier: epochs over shuffled batches (seeded), evaluation on the test split after
 * each epoch. Deterministic for a given seed and backend. Leaves no tensors behind.
 */
export async function train(
  model: tf.LayersModel,
  data: ClassificationData,
  config: Partial<TrainConfig> = {},
  options: TrainOptions = {},
): Promise<TrainResult> {
  const c = validateTrainConfig(config);
  const optimizer = options.optimizer ?? makeOptimizer(c.optimizer, c.learningRate);
  const ctx = { model, optimizer, forward: options.forward };
  const history: EpochRecord[] = [];
  const full = batchCount(data.train.count, c.batchSize);
  const steps = c.maxStepsPerEpoch > 0 ? Math.min(full, c.maxStepsPerEpoch) : full;
  let timedMs = 0;
  let timedSamples = 0;
  let timedSteps = 0;
  let totalSteps = 0;
  let memory: StepMemory | undefined;
  for (let epoch = 1; epoch <= c.epochs; epoch++) {
    options.onProgress?.({ kind: 'epoch-start', epoch, epochs: c.epochs, steps });
    const start = performance.now();
    let lossSum = 0;
    let step = 0;
    for (const batch of batches(data, 'train', c.batchSize, {
      shuffle: true,
      seed: c.seed * 7919 + epoch,
    })) {
      if (step >= steps) {
        tf.dispose([batch.xs, batch.ys]);
        break;
      }
      const t0 = performance.now();
      let loss: number;
      if (c.measureMemory && memory === undefined && totalSteps === 1) {
        const r = await trainStepMeasured(ctx, batch);
        loss = r.loss;
        memory = r.memory;
      } else {
        loss = trainStep(ctx, batch);
        if (totalSteps > 0) {
          timedMs += performance.now() - t0;
          timedSamples += batch.size;
          timedSteps++;
        }
      }
      const stepMs = performance.now() - t0;
      tf.dispose([batch.xs, batch.ys]);
      if (!Number.isFinite(loss))
        throw new Error(`training diverged: loss is ${loss} at epoch ${epoch}, step ${step + 1}`);
      lossSum += loss;
      step++;
      totalSteps++;
      options.onProgress?.({ kind: 'step', epoch, step, steps, loss, stepMs });
    }
    const ev = evaluate(model, data, 'test', { forward: options.forward });
    const seconds = (performance.now() - start) / 1000;
    history.push({ epoch, meanLoss: lossSum / step, testAccuracy: ev.accuracy, seconds });
    options.onProgress?.({
      kind: 'epoch-end',
      epoch,
      epochs: c.epochs,
      meanLoss: lossSum / step,
      testAccuracy: ev.accuracy,
      seconds,
    });
  }
  if (!options.optimizer) optimizer.dispose();
  return {
    config: c,
    history,
    testAccuracy: history[history.length - 1].testAccuracy,
    meanStepMs: timedSteps > 0 ? timedMs / timedSteps : Number.NaN,
    samplesPerSecond: timedMs > 0 ? (timedSamples / timedMs) * 1000 : Number.NaN,
    steps: totalSteps,
    memory,
  };
}
