// `frugal train --grad-sparsity`: sparse backward passes (src/sparse). Parsing, the option checks
// and the model conversion; train.ts calls these in a few lines.
import type * as tf from '@tensorflow/tfjs';
import { InvalidArgumentError } from 'commander';
import {
  modelPruneStats,
  plainFromSparseGrad,
  type SparseGradResult,
  sparseGradModel,
} from '../../sparse/convert.js';
import type { GradPrune } from '../../sparse/grad-prune.js';
import type { GradSparsity } from '../../sparse/mvue.js';

export const GRAD_SPARSITY_PRESETS = {
  mvue24: { n: 2, m: 4, kind: 'mvue' },
  mvue12: { n: 1, m: 2, kind: 'mvue' },
  magnitude24: { n: 2, m: 4, kind: 'magnitude' },
} as const satisfies Record<string, GradSparsity>;
/** An N:M preset, or `stochastic` (Ye et al.; its prune rate is --grad-prune-rate). */
export type GradSparsityPreset = keyof typeof GRAD_SPARSITY_PRESETS | 'stochastic';
const NAMES = [...Object.keys(GRAD_SPARSITY_PRESETS), 'stochastic'] as GradSparsityPreset[];
/** The target prune rate of `--grad-sparsity stochastic` without --grad-prune-rate (the paper's). */
export const DEFAULT_GRAD_PRUNE_RATE = 0.9;

/** commander parser of --grad-sparsity. */
export function gradSparsityOption(value: string): GradSparsityPreset {
  if (!(NAMES as string[]).includes(value))
    throw new InvalidArgumentError(`expected one of ${NAMES.join(', ')}, got '${value}'`);
  return value as GradSparsityPreset;
}

/** commander parser of --grad-prune-rate: a number in (0, 1). */
export function gradPruneRateOption(value: string): number {
  const p = Number(value);
  if (value.trim() === '' || !Number.isFinite(p) || !(p > 0 && p < 1))
    throw new InvalidArgumentError(
      `expected a prune rate in (0, 1), got '${value}' (0 prunes nothing; 1 would prune every value)`,
    );
  return p;
}

interface SparseOptions {
  gradSparsity?: GradSparsityPreset;
  gradPruneRate?: number;
  memoryBudget?: number;
  workers?: number;
  seed: number;
}

/**
 * --grad-sparsity with options it cannot be combined with: an error naming them. With --act-*
 * options the sparse-gradient layers become compressed ones that keep the pruning
 * (compressActivations carries `gradSparsity` over).
 */
export function checkGradSparsityOptions(o: SparseOptions): void {
  if (o.gradPruneRate !== undefined && o.gradSparsity !== 'stochastic')
    throw new Error(
      `--grad-prune-rate ${o.gradPruneRate} applies to --grad-sparsity stochastic${o.gradSparsity ? `, not ${o.gradSparsity}` : ''}: give --grad-sparsity stochastic or drop --grad-prune-rate`,
    );
  if (o.gradSparsity === undefined) return;
  const clash = [
    o.memoryBudget !== undefined && '--memory-budget (the planner runs the plain layers)',
    (o.workers ?? 1) > 1 && '--workers (the workers run the plain backward)',
  ].filter((x): x is string => typeof x === 'string');
  if (clash.length > 0)
    throw new Error(`--grad-sparsity cannot be combined with ${clash.join(', ')} yet: drop one`);
}

/** The pruning spec the options ask for, or null without --grad-sparsity. */
export function gradPruneFromOptions(o: SparseOptions): GradPrune | null {
  if (o.gradSparsity === undefined) return null;
  if (o.gradSparsity === 'stochastic')
    return { kind: 'stochastic', p: o.gradPruneRate ?? DEFAULT_GRAD_PRUNE_RATE };
  return GRAD_SPARSITY_PRESETS[o.gradSparsity];
}

/** The model with sparse-gradient Dense/Conv2D layers, or null without --grad-sparsity. */
export function applyGradSparsity(
  model: tf.LayersModel,
  o: SparseOptions,
): SparseGradResult | null {
  const spec = gradPruneFromOptions(o);
  if (spec === null) return null;
  return sparseGradModel(model, spec, { seed: o.seed });
}

/** The zero fraction of the pruned output gradients over the run (null before any backward). */
export function prunedZeroFraction(model: tf.LayersModel): number | null {
  const s = modelPruneStats(model);
  return s.total > 0 ? s.zeros / s.total : null;
}

/** The model to save: plain Dense/Conv2D layers after sparse-gradient training. */
export function modelToSave(model: tf.LayersModel, o: SparseOptions): tf.LayersModel {
  return o.gradSparsity === undefined ? model : plainFromSparseGrad(model);
}
