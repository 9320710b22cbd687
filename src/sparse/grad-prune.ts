/**
 * What a sparse-gradient layer does to its output gradient dy before the weight-gradient product:
 * an N:M mask along the batch (`mvue`, `approx`, `magnitude`; see mvue.ts) or stochastic pruning
 * of small values (`stochastic`, see stoch-prune.ts).
 */
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../engine/random.js';
import { type GradSparsity, maskAlongAxis, parseGradSparsity } from './mvue.js';
import { parseStochPrune, type StochPruneSpec, stochPrune } from './stoch-prune.js';

export type GradPrune = GradSparsity | StochPruneSpec;

/** Counts of the pruned gradients a layer produced (zeros out of all entries). */
export interface PruneStats {
  zeros: number;
  total: number;
}

/** Validates a `gradSparsity` config: `{n, m, kind}` or `{kind: 'stochastic', p}`. */
export function parseGradPrune(v: unknown, config = 'gradSparsity'): GradPrune {
  if (v !== null && typeof v === 'object' && (v as { kind?: unknown }).kind === 'stochastic')
    return parseStochPrune(v, config);
  return parseGradSparsity(v, config);
}

/** dy pruned by `spec` (N:M along axis 0, the batch; or stochastically), as a new tensor. */
export function pruneGradient(
  dy: tf.Tensor,
  spec: GradPrune,
  rng: Rng,
  stats?: PruneStats,
): tf.Tensor {
  const v = dy.dataSync();
  let out: Float32Array;
  if (spec.kind === 'stochastic') {
    const r = stochPrune(v, spec.p, rng);
    out = r.values;
    if (stats) stats.zeros += r.zeros;
  } else {
    out = maskAlongAxis(v, dy.shape, 0, spec, rng);
    if (stats) {
      let zeros = 0;
      for (let i = 0; i < out.length; i++) if (out[i] === 0) zeros++;
      stats.zeros += zeros;
    }
  }
  if (stats) stats.total += out.length;
  return tf.tensor(out, dy.shape, 'float32');
}
