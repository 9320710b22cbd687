/**
 * `gradSparsity` inside frugal's compressed-activation layers (FrugalCompressedDense /
 * FrugalCompressedConv2D): the layer's backward rebuilds dz (dy through the activation's saved
 * derivative) and hands it to its weight-gradient product through the layer's gradient
 * transform (src/activation/backward/grad-transform.ts), which this pruner implements: dz is
 * pruned first (N:M along the leading axis, or stochastically), exactly as the sparse-gradient
 * layers (SparseGradDense / SparseGradConv2D) prune their dy. The bias gradient reads the dense
 * dz; the input-gradient product reads it too unless `pruneInputGrad`.
 *
 * The compressed backward runs in chunks of samples (the backward chunk bytes): each chunk's dz
 * is pruned on its own. N:M groups run along the samples of a chunk (a chunk whose size is not a
 * multiple of M has a padded last group, which keeps the mask unbiased); stochastic pruning sets
 * its threshold per chunk. With the whole batch in one chunk, masks and values are those the
 * sparse-gradient layer draws from the same seed. Under a chunked forward whose Dense kernel
 * product is deferred to the last chunk (weight-grad-sink.ts), that product prunes the rows of
 * all chunks at once; with `pruneInputGrad` its mask is then drawn apart from the input side's.
 *
 * Loading this module registers the pruner as the compressed layers' `gradSparsity` (src/index.ts
 * and src/sparse/index.ts load it).
 */
import type * as tf from '@tensorflow/tfjs';
import {
  type GradTransform,
  type GradTransformArgs,
  type GradUse,
  setGradTransformFactory,
} from '../activation/backward/grad-transform.js';
import { makeRng, type Rng } from '../engine/random.js';
import { type GradPrune, type PruneStats, parseGradPrune, pruneGradient } from './grad-prune.js';

export class GradPruner implements GradTransform {
  readonly spec: GradPrune;
  readonly pruneInputGrad: boolean;
  readonly seed: number;
  /** Zeros and entries of the pruned gradients so far (reset it to measure a span). */
  readonly stats: PruneStats = { zeros: 0, total: 0 };
  private readonly rng: Rng;
  /** With `pruneInputGrad`: the last dz pruned, so the other product reads the same mask. */
  private last: { source: tf.Tensor; pruned: tf.Tensor } | null = null;

  constructor(spec: GradPrune, pruneInputGrad = false, seed = 0) {
    this.spec = parseGradPrune(spec);
    this.pruneInputGrad = pruneInputGrad;
    this.seed = seed;
    this.rng = makeRng(seed);
  }

  /**
   * dz as the `use` product reads it: pruned (a new tensor the caller frees) or dz itself. With
   * `pruneInputGrad` the weight and input products of the same dz tensor read the same mask.
   */
  operand(dz: tf.Tensor, use: GradUse): tf.Tensor {
    if (use === 'input' && !this.pruneInputGrad) return dz;
    const last = this.last;
    if (last !== null && last.source === dz) {
      this.last = null;
      return last.pruned;
    }
    const pruned = pruneGradient(dz, this.spec, this.rng, this.stats);
    if (this.pruneInputGrad) {
      last?.pruned.dispose();
      // A second handle on the same data for the other product (freed by whoever reads it).
      this.last = { source: dz, pruned: pruned.clone() };
    }
    return pruned;
  }

  getConfig(): Required<GradTransformArgs> {
    return {
      gradSparsity: { ...this.spec },
      pruneInputGrad: this.pruneInputGrad,
      gradSeed: this.seed,
    };
  }
}

// Compressed kernel layers built with `gradSparsity` (or loaded with it) get a GradPruner.
setGradTransformFactory((layer, args) => {
  const { gradSparsity, pruneInputGrad, gradSeed } = args;
  if (pruneInputGrad !== undefined && typeof pruneInputGrad !== 'boolean')
    throw new Error(`${layer}: pruneInputGrad must be a boolean, got ${String(pruneInputGrad)}`);
  if (gradSeed !== undefined && !Number.isInteger(gradSeed))
    throw new Error(`${layer}: gradSeed must be an integer, got ${String(gradSeed)}`);
  return new GradPruner(
    parseGradPrune(gradSparsity, `${layer}: gradSparsity`),
    pruneInputGrad,
    gradSeed,
  );
});
