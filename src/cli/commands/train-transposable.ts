// `frugal train --transposable N:M`: N:M-sparse training with transposable weight masks
// (src/sparse/transposable-train.ts). Parsing, the option checks and the hooks; train.ts calls
// these in a few lines.
import type * as tf from '@tensorflow/tfjs';
import { InvalidArgumentError } from 'commander';
import {
  type TransposableTraining,
  transposableTraining,
} from '../../sparse/transposable-train.js';

/** --transposable's value: keep n of every m weights along both channel axes. */
export interface TransposablePattern {
  n: number;
  m: number;
}

/**
 * The default recipe (bench:sparse-grad's transposable24DropPts, chosen on seeds 10 and 11):
 * SR-STE decay 0.02, masks recomputed every step, pruned weights faded out over the first 3/4
 * of the planned steps.
 */
export const TRANSPOSABLE_DEFAULTS = { every: 1, decay: 0.02, rampFraction: 0.75 } as const;

/** commander parser of --transposable: 'N:M' with integers 1 <= N < M <= 16. */
export function transposableOption(value: string): TransposablePattern {
  const hit = /^\s*(\d+)\s*:\s*(\d+)\s*$/.exec(value);
  const [n, m] = hit ? [Number(hit[1]), Number(hit[2])] : [Number.NaN, Number.NaN];
  if (!hit || n < 1 || m > 16 || n >= m)
    throw new InvalidArgumentError(
      `expected N:M with integers 1 <= N < M <= 16 (e.g. 2:4), got '${value}'${hit && n >= m ? ' (N must be below M: N = M keeps every weight)' : ''}`,
    );
  return { n, m };
}

/** commander parser of --transposable-decay: a number >= 0. */
export function transposableDecayOption(value: string): number {
  const d = Number(value);
  if (value.trim() === '' || !Number.isFinite(d) || d < 0)
    throw new InvalidArgumentError(
      `expected a decay >= 0 (0: plain straight-through), got '${value}'`,
    );
  return d;
}

export interface TransposableCliOptions {
  transposable?: TransposablePattern;
  /** Recompute the masks every this many steps (0: fixed from the initial weights). */
  transposableEvery?: number;
  /** SR-STE decay of the pruned dense weights. */
  transposableDecay?: number;
  /** Steps over which pruned weights fade out of the forward. */
  transposableRamp?: number;
}

interface Context extends TransposableCliOptions {
  gradSparsity?: string;
  lowPrecision?: number;
  memoryBudget?: number;
  workers?: number;
  pipeline?: string;
  opt?: string;
}

/** The settings the options resolve to (after the check). */
export interface TransposableSettings {
  n: number;
  m: number;
  recomputeEvery: number;
  decay: number;
  rampSteps: number;
}

/**
 * The sub-options without --transposable and options the masks cannot be combined with: an error
 * naming them, before any work.
 */
export function checkTransposableOptions(o: Context, hasActConfig: boolean): void {
  const sub = [
    o.transposableEvery !== undefined && `--transposable-every ${o.transposableEvery}`,
    o.transposableDecay !== undefined && `--transposable-decay ${o.transposableDecay}`,
    o.transposableRamp !== undefined && `--transposable-ramp ${o.transposableRamp}`,
  ].filter((x): x is string => typeof x === 'string');
  if (o.transposable === undefined) {
    if (sub.length > 0)
      throw new Error(
        `${sub.join(', ')} ${sub.length > 1 ? 'apply' : 'applies'} to --transposable N:M: give --transposable 2:4 or drop ${sub.length > 1 ? 'them' : 'it'}`,
      );
    return;
  }
  const clash = [
    hasActConfig && '--act-* options (compressed-activation layers are not masked)',
    o.lowPrecision !== undefined && '--low-precision (its quantized layers are not masked)',
    o.memoryBudget !== undefined && '--memory-budget (the planner runs its own step)',
    (o.workers ?? 1) > 1 && '--workers (the workers do not run the mask hooks)',
    o.pipeline !== undefined && '--pipeline (the stages do not run the mask hooks)',
    o.opt !== undefined && '--opt (its over-parameterised layers are not masked)',
  ].filter((x): x is string => typeof x === 'string');
  if (clash.length > 0)
    throw new Error(`--transposable cannot be combined with ${clash.join(', ')} yet: drop one`);
}

/**
 * The settings of a --transposable run (null without it): the defaults filled in, the ramp
 * defaulting to 3/4 of `plannedSteps`. Decay that could not act and a ramp longer than the run
 * are errors naming the options.
 */
export function transposableSettings(
  o: TransposableCliOptions,
  plannedSteps: number,
): TransposableSettings | null {
  if (o.transposable === undefined) return null;
  const every = o.transposableEvery ?? TRANSPOSABLE_DEFAULTS.every;
  const ramp =
    o.transposableRamp ??
    Math.floor(TRANSPOSABLE_DEFAULTS.rampFraction * Math.max(0, plannedSteps));
  if (o.transposableRamp !== undefined && ramp > plannedSteps)
    throw new Error(
      `--transposable-ramp ${ramp} is longer than the ${plannedSteps} planned steps: the masks would never be hard (use ${plannedSteps} or less)`,
    );
  // Decay acts on pruned dense weights, which only matter when masks move or during a ramp.
  const decayCanAct = every > 0 || ramp > 0;
  if (o.transposableDecay !== undefined && o.transposableDecay > 0 && !decayCanAct)
    throw new Error(
      `--transposable-decay ${o.transposableDecay} pulls pruned weights to 0, which changes nothing with fixed masks (--transposable-every 0) and no ramp (--transposable-ramp 0): recompute the masks, add a ramp or drop --transposable-decay`,
    );
  const decay = o.transposableDecay ?? (decayCanAct ? TRANSPOSABLE_DEFAULTS.decay : 0);
  return { ...o.transposable, recomputeEvery: every, decay, rampSteps: ramp };
}

/** Steps the loop will run without a batch plan: epochs x min(--max-steps, ceil(rows / batch)). */
export function plannedSteps(
  epochs: number,
  rows: number,
  batch: number,
  maxSteps: number,
): number {
  const perEpoch = Math.ceil(rows / batch);
  return epochs * (maxSteps > 0 ? Math.min(maxSteps, perEpoch) : perEpoch);
}

/** Puts the model's eligible kernels under transposable masks (throws when none is eligible). */
export function applyTransposable(
  model: tf.LayersModel,
  s: TransposableSettings,
): TransposableTraining {
  return transposableTraining(model, {
    n: s.n,
    m: s.m,
    recomputeEvery: s.recomputeEvery,
    decay: s.decay,
    rampSteps: s.rampSteps,
  });
}

/** The report section of a transposable run (after `finish()`). */
export function transposableReport(s: TransposableSettings, t: TransposableTraining) {
  const st = t.stats();
  const changes = st.maskChangeFraction;
  return {
    ...s,
    layers: t.layers,
    skipped: t.skipped,
    steps: st.steps,
    recomputes: st.recomputes,
    /** Mean fraction of mask entries changed per recompute (null without recomputes). */
    meanMaskChange: changes.length > 0 ? changes.reduce((a, b) => a + b, 0) / changes.length : null,
    greedyRepairs: st.greedyRepairs,
  };
}
