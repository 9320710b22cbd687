import * as tf from '@tensorflow/tfjs';
import { type Batch, type ClassificationData, gatherBatch } from '../data/dataset.js';
import {
  classificationData,
  classificationDataFromDataset,
  type TensorDataOptions,
  type TensorSplit,
} from '../data/from-tensors.js';
import { makeRng, permutation } from '../engine/random.js';
import type { StepMemory } from '../report/memory-meter.js';
import { type BatchPlan, planSteps } from './batch-plan.js';
import { type TrainConfig, validateTrainConfig } from './config.js';
import { evaluate } from './evaluate.js';
import type { StepHooks } from './gradients.js';
import { type ResolvedLossName, resolveLoss } from './loss.js';
import { makeOptimizer } from './optimizer.js';
import type { ProgressCallback } from './progress.js';
import { type ForwardFn, trainStep, trainStepMeasured } from './step.js';

/** Runs training steps somewhere other than this thread (e.g. worker threads, see train/parallel). */
export interface Stepper {
  /** One training step on `batch` (the caller disposes it); resolves to the batch's mean loss. */
  step(batch: Batch): Promise<number>;
  /** Brings the model's weights in this thread up to date; called before each evaluation. */
  sync(): Promise<void>;
}

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
  /** The loss trained with ('auto' resolved against the model). */
  loss: ResolvedLossName;
  memory?: StepMemory;
}

/**
 * What `train` trains on: frugal's ClassificationData, tensors as `model.fit` takes them
 * (`{ xs, ys, test?: { xs, ys } | validationSplit }`), or a tf.data dataset of {xs, ys} batches as
 * `model.fitDataset` takes (`{ dataset, test?: dataset | validationSplit }`). Tensors and
 * datasets are read once into memory; the caller keeps (and disposes) its tensors.
 */
export type TrainData =
  | ClassificationData
  | (TensorSplit & TensorDataOptions)
  | ({
      dataset: tf.data.Dataset<tf.TensorContainer>;
      test?: tf.data.Dataset<tf.TensorContainer>;
    } & Omit<TensorDataOptions, 'test'>);

/** `data` as ClassificationData (see TrainData). */
export async function toClassificationData(data: TrainData): Promise<ClassificationData> {
  if ('dataset' in data) {
    const { dataset, ...rest } = data;
    return classificationDataFromDataset(dataset, rest);
  }
  if ('xs' in data) {
    const { xs, ys, ...rest } = data;
    return classificationData({ xs, ys }, rest);
  }
  return data;
}

/** tfjs-style logs of an epoch: the mean training loss, the test accuracy (as val_acc). */
export interface EpochLogs {
  loss: number;
  val_acc: number;
  seconds: number;
  [key: string]: number;
}

/** tfjs-style logs of a step. */
export interface BatchLogs {
  loss: number;
  size: number;
  stepMs: number;
  [key: string]: number;
}

/**
 * Callbacks in tfjs's shape (`model.fit`'s CustomCallbackArgs): epochs and batches count from 0,
 * each may be async (awaited). Setting `model.stopTraining = true` in one (as tfjs's
 * earlyStopping does) ends training after the current step; the epoch is then evaluated.
 */
export interface TrainCallbacks {
  onTrainBegin?: (logs?: Record<string, number>) => void | Promise<void>;
  onTrainEnd?: (logs?: Record<string, number>) => void | Promise<void>;
  onEpochBegin?: (epoch: number, logs?: Record<string, number>) => void | Promise<void>;
  onEpochEnd?: (epoch: number, logs: EpochLogs) => void | Promise<void>;
  onBatchBegin?: (batch: number, logs?: Record<string, number>) => void | Promise<void>;
  onBatchEnd?: (batch: number, logs: BatchLogs) => void | Promise<void>;
}

async function callAll<K extends keyof TrainCallbacks>(
  list: TrainCallbacks[],
  name: K,
  ...args: Parameters<NonNullable<TrainCallbacks[K]>>
): Promise<void> {
  for (const cb of list) {
    const f = cb[name] as ((...a: unknown[]) => void | Promise<void>) | undefined;
    if (f) await f.apply(cb, args);
  }
}

export interface TrainOptions {
  onProgress?: ProgressCallback;
  /** tfjs-style callbacks (one object or several). */
  callbacks?: TrainCallbacks | TrainCallbacks[];
  /** Custom forward pass (e.g. checkpointed); defaults to the model's own. */
  forward?: ForwardFn;
  optimizer?: tf.Optimizer;
  /** A recipe's hooks into every step (see StepHooks); the measured step runs them too. */
  hooks?: StepHooks;
  /**
   * Takes the steps instead of `trainStep` (and then owns the optimizer: `optimizer`, `forward`
   * and `hooks` do not apply to the steps, and no step is measured by the memory meter).
   */
  stepper?: Stepper;
  /**
   * Wall-clock budget of the run in ms (from the call): no step starts after it runs out; the
   * epoch in progress is then evaluated and training ends (the time-budget setting).
   */
  timeBudgetMs?: number;
  /** A data recipe's plan: each epoch's rows, each step's batch size, a change to each batch. */
  batchPlan?: BatchPlan;
}

/**
 * Trains a classifier: epochs over shuffled batches (seeded), evaluation on the test split after
 * each epoch. `config.loss` says what the model outputs (default 'auto': softmax probabilities
 * when its output layer ends in softmax, else logits; see LOSSES). Deterministic for a given seed and backend. Leaves no tensors behind.
 */
export async function train(
  model: tf.LayersModel,
  trainData: TrainData,
  config: Partial<TrainConfig> = {},
  options: TrainOptions = {},
): Promise<TrainResult> {
  const c = validateTrainConfig(config);
  const data = await toClassificationData(trainData);
  const callbacks = options.callbacks
    ? Array.isArray(options.callbacks)
      ? options.callbacks
      : [options.callbacks]
    : [];
  // tfjs's stop flag (an uncompiled Sequential refuses to have it read or set: then it is off).
  const stopFlag = model as unknown as { stopTraining?: boolean };
  const stopped = () => {
    try {
      return stopFlag.stopTraining === true;
    } catch {
      return false;
    }
  };
  if (stopped()) stopFlag.stopTraining = false;
  const loss = resolveLoss(model, c.loss, data.numClasses);
  if (options.stepper && options.hooks)
    throw new Error('train: hooks do not apply with a stepper (it takes the steps itself)');
  const optimizer = options.optimizer ?? makeOptimizer(c.optimizer, c.learningRate);
  const ctx = { model, optimizer, forward: options.forward, loss, hooks: options.hooks };
  const history: EpochRecord[] = [];
  let timedMs = 0;
  let timedSamples = 0;
  let timedSteps = 0;
  let totalSteps = 0;
  let memory: StepMemory | undefined;
  const budget = options.timeBudgetMs;
  if (budget !== undefined && !(budget > 0))
    throw new Error(`train: timeBudgetMs must be above 0, got ${budget}`);
  const runStart = performance.now();
  const outOfTime = () => budget !== undefined && performance.now() - runStart >= budget;
  await callAll(callbacks, 'onTrainBegin', {});
  for (let epoch = 1; epoch <= c.epochs; epoch++) {
    if (epoch > 1 && (outOfTime() || stopped())) break;
    const plan = options.batchPlan;
    const rows = plan?.epochRows?.(epoch, data);
    const count = rows ? rows.length : data.train.count;
    if (count < 1) throw new Error(`train: epoch ${epoch} has no training rows`);
    const perm = permutation(count, makeRng(c.seed * 7919 + epoch));
    const idx = rows ? perm.map((i) => rows[i]) : perm;
    const sizes = planSteps(count, c.batchSize, totalSteps, plan);
    const steps =
      c.maxStepsPerEpoch > 0 ? Math.min(sizes.length, c.maxStepsPerEpoch) : sizes.length;
    options.onProgress?.({ kind: 'epoch-start', epoch, epochs: c.epochs, steps });
    await callAll(callbacks, 'onEpochBegin', epoch - 1, {});
    const start = performance.now();
    let lossSum = 0;
    let step = 0;
    for (let from = 0; step < steps; from += sizes[step], step++) {
      if (step > 0 && (outOfTime() || stopped())) break;
      await callAll(callbacks, 'onBatchBegin', step, {});
      const raw = gatherBatch(
        data.train,
        data.sampleShape,
        data.numClasses,
        idx,
        from,
        from + sizes[step],
      );
      const batch = plan?.transform ? plan.transform(raw, totalSteps) : raw;
      if (batch !== raw) tf.dispose([raw.xs, raw.ys]);
      const t0 = performance.now();
      let stepLoss: number;
      const measure =
        !options.stepper && c.measureMemory && memory === undefined && totalSteps === 1;
      if (options.stepper) {
        stepLoss = await options.stepper.step(batch);
      } else if (measure) {
        const r = await trainStepMeasured(ctx, batch);
        stepLoss = r.loss;
        memory = r.memory;
      } else {
        stepLoss = trainStep(ctx, batch);
      }
      if (!measure && totalSteps > 0) {
        timedMs += performance.now() - t0;
        timedSamples += batch.size;
        timedSteps++;
      }
      const stepMs = performance.now() - t0;
      tf.dispose([batch.xs, batch.ys]);
      if (!Number.isFinite(stepLoss))
        throw new Error(
          `training diverged: loss is ${stepLoss} at epoch ${epoch}, step ${step + 1}`,
        );
      lossSum += stepLoss;
      totalSteps++;
      options.onProgress?.({ kind: 'step', epoch, step: step + 1, steps, loss: stepLoss, stepMs });
      await callAll(callbacks, 'onBatchEnd', step, { loss: stepLoss, size: batch.size, stepMs });
    }
    await options.stepper?.sync();
    const ev = evaluate(model, data, 'test', { forward: options.forward, loss });
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
    await callAll(callbacks, 'onEpochEnd', epoch - 1, {
      loss: lossSum / step,
      val_acc: ev.accuracy,
      seconds,
    });
  }
  if (!options.optimizer) optimizer.dispose();
  await callAll(callbacks, 'onTrainEnd', {});
  return {
    config: c,
    history,
    testAccuracy: history[history.length - 1].testAccuracy,
    meanStepMs: timedSteps > 0 ? timedMs / timedSteps : Number.NaN,
    samplesPerSecond: timedMs > 0 ? (timedSamples / timedMs) * 1000 : Number.NaN,
    steps: totalSteps,
    loss: loss.name,
    memory,
  };
}
