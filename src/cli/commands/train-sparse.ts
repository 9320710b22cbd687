// `frugal train --grad-sparsity`: sparse backward passes (src/sparse). Parsing, the option checks
// and the model conversion; train.ts calls these in a few lines.
import type * as tf from '@tensorflow/tfjs';
import { InvalidArgumentError } from 'commander';
import {
  plainFromSparseGrad,
  type SparseGradResult,
  sparseGradModel,
} from '../../sparse/convert.js';
import type { GradSparsity } from '../../sparse/mvue.js';

export const GRAD_SPARSITY_PRESETS = {
  mvue24: { n: 2, m: 4, kind: 'mvue' },
  mvue12: { n: 1, m: 2, kind: 'mvue' },
  magnitude24: { n: 2, m: 4, kind: 'magnitude' },
} as const satisfies Record<string, GradSparsity>;
export type GradSparsityPreset = keyof typeof GRAD_SPARSITY_PRESETS;
const NAMES = Object.keys(GRAD_SPARSITY_PRESETS) as GradSparsityPreset[];

/** commander parser of --grad-sparsity. */
export function gradSparsityOption(value: string): GradSparsityPreset {
  if (!(NAMES as string[]).includes(value))
    throw new InvalidArgumentError(`expected one of ${NAMES.join(', ')}, got '${value}'`);
  return value as GradSparsityPreset;
}

interface SparseOptions {
  gradSparsity?: GradSparsityPreset;
  memoryBudget?: number;
  workers?: number;
  seed: number;
}

/** --grad-sparsity with options it cannot be combined with: an error naming them. */
export function checkGradSparsityOptions(o: SparseOptions, hasActConfig: boolean): void {
  if (o.gradSparsity === undefined) return;
  const clash = [
    hasActConfig && '--act-* options (compressed activations compute their own backward)',
    o.memoryBudget !== undefined && '--memory-budget (the planner runs the plain layers)',
    (o.workers ?? 1) > 1 && '--workers (the workers run the plain backward)',
  ].filter((x): x is string => typeof x === 'string');
  if (clash.length > 0)
    throw new Error(`--grad-sparsity cannot be combined with ${clash.join(', ')} yet: drop one`);
}

/** The model with sparse-gradient Dense/Conv2D layers, or null without --grad-sparsity. */
export function applyGradSparsity(
  model: tf.LayersModel,
  o: SparseOptions,
): SparseGradResult | null {
  if (o.gradSparsity === undefined) return null;
  return sparseGradModel(model, GRAD_SPARSITY_PRESETS[o.gradSparsity], { seed: o.seed });
}

/** The model to save: plain Dense/Conv2D layers after sparse-gradient training. */
export function modelToSave(model: tf.LayersModel, o: SparseOptions): tf.LayersModel {
  return o.gradSparsity === undefined ? model : plainFromSparseGrad(model);
}
