// A budget-aware learning-rate schedule (Li, Yumer & Ramanan, "Budgeted Training", ICLR 2020; the
// piecewise-linear schedule of Page's DAWNBench ResNet-9 that the HAET 2023 entries build on):
// a linear warm-up over the first `warmup` fraction of the run, then a linear decay that reaches
// `final` x the peak exactly when the run ends. "The run" is a wall-clock budget (the HAET
// setting: the rate is zero at the deadline, whenever the machine lets the deadline fall) or a
// step count. The rate is set on the optimizer before every step (StepHooks.beforeStep).
import type * as tf from '@tensorflow/tfjs';
import type { StepHooks } from '../train/gradients.js';

export interface BudgetScheduleConfig {
  /** Fraction of the run spent warming up, in [0, 1). */
  warmup: number;
  /** The rate at the end of the run as a fraction of the peak, in [0, 1). */
  final: number;
  /**
   * The peak as a multiple of the configured learning rate (> 0; 1: the configured rate is the
   * peak). A rate that falls to zero can peak higher than a constant one could stay.
   */
  peak: number;
}

/** Where the warm-up starts, as a fraction of the peak (a first step at rate 0 would be wasted). */
export const WARMUP_START = 0.1;

/** How long the run is: a wall-clock budget (with the clock of trained ms) or a step count. */
export type ScheduleSpan =
  | {
      budgetMs: number;
      /** Milliseconds trained so far; default: since the schedule's first step. */
      clock?: () => number;
    }
  | { totalSteps: number };

type WithRate = { learningRate?: unknown; setLearningRate?: (lr: number) => void };

/** The optimizer's current learning rate (Adam, SGD, momentum, RMSProp, FrugalAdam). */
export function learningRateOf(optimizer: tf.Optimizer): number {
  const lr = (optimizer as unknown as WithRate).learningRate;
  if (typeof lr !== 'number')
    throw new Error(
      `learning-rate schedule: optimizer '${optimizer.getClassName()}' has no learning rate to read or set`,
    );
  return lr;
}

/** Sets the optimizer's learning rate for its next update. */
export function setLearningRate(optimizer: tf.Optimizer, lr: number): void {
  if (!(lr >= 0)) throw new Error(`learning-rate schedule: rate must be >= 0, got ${lr}`);
  learningRateOf(optimizer);
  const o = optimizer as unknown as WithRate;
  // SGD and momentum keep the rate in a tensor too: their setter replaces it.
  if (typeof o.setLearningRate === 'function') o.setLearningRate(lr);
  else o.learningRate = lr;
}

/** The schedule's factor of the peak at progress `p` (clamped to [0, 1]; `peak` not applied). */
export function budgetFactor(p: number, c: Omit<BudgetScheduleConfig, 'peak'>): number {
  const q = Math.min(Math.max(p, 0), 1);
  if (c.warmup > 0 && q < c.warmup) return WARMUP_START + (1 - WARMUP_START) * (q / c.warmup);
  return c.final + (1 - c.final) * ((1 - q) / (1 - c.warmup));
}

export function checkBudgetSchedule(c: BudgetScheduleConfig): void {
  if (!(c.warmup >= 0 && c.warmup < 1))
    throw new Error(`budget schedule: warmup must be in [0, 1), got ${c.warmup}`);
  if (!(c.final >= 0 && c.final < 1))
    throw new Error(`budget schedule: final must be in [0, 1), got ${c.final}`);
  if (!(c.peak > 0)) throw new Error(`budget schedule: peak must be above 0, got ${c.peak}`);
}

/** The run's progress in [0, 1] before each step (call once per step). */
function progressOf(span: ScheduleSpan): () => number {
  if ('totalSteps' in span) {
    const n = span.totalSteps;
    if (!(Number.isInteger(n) && n >= 1))
      throw new Error(`budget schedule: totalSteps must be an integer >= 1, got ${n}`);
    let step = 0;
    return () => step++ / n;
  }
  const b = span.budgetMs;
  if (!(b > 0)) throw new Error(`budget schedule: budgetMs must be above 0, got ${b}`);
  let start: number | undefined;
  const clock =
    span.clock ??
    (() => {
      start ??= performance.now();
      return performance.now() - start;
    });
  return () => clock() / b;
}

/**
 * Step hooks that set the rate to `learningRate` x `c.peak` x budgetFactor(progress) before every
 * step. `rates` (when given) receives each step's rate.
 */
export function budgetSchedule(
  learningRate: number,
  c: BudgetScheduleConfig,
  span: ScheduleSpan,
  rates?: number[],
): StepHooks {
  if (!(learningRate > 0))
    throw new Error(`budget schedule: the learning rate must be above 0, got ${learningRate}`);
  checkBudgetSchedule(c);
  const peak = learningRate * c.peak;
  const progress = progressOf(span);
  return {
    beforeStep: (optimizer) => {
      const lr = peak * budgetFactor(progress(), c);
      setLearningRate(optimizer, lr);
      rates?.push(lr);
    },
  };
}
