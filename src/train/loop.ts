import * as tf from '@tensorflow/tfjs';
import { type Batch, type ClassificationData, gatherBatch } from '../data/dataset.js';
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

export interface TrainOptions {
  onProgress?: ProgressCallback;
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
  data: ClassificationData,
  config: Partial<TrainConfig> = {},
  options: TrainOptions = {},
): Promise<TrainResult> {
  const c = validateTrainConfig(config);
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
  for (let epoch = 1; epoch <= c.epochs; epoch++) {
    if (epoch > 1 && outOfTime()) break;
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
    const start = performance.now();
    let lossSum = 0;
    let step = 0;
    for (let from = 0; step < steps; from += sizes[step], step++) {
      if (step > 0 && outOfTime()) break;
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
  }
  if (!options.optimizer) optimizer.dispose();
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
