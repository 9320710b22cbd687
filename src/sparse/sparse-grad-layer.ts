/**
 * What the sparse-gradient layers (SparseGradDense, SparseGradConv2D) share over KernelBiasLayer:
 * the pruning of the output gradient (`gradSparsity`, `pruneInputGrad`, the seeded draws and their
 * counts), the bias switch, a 'linear' or 'relu' activation, and a config that is the plain layer's
 * plus the pruning fields.
 */
import * as tf from '@tensorflow/tfjs';
import { makeRng, type Rng } from '../engine/random.js';
import { KernelBiasLayer, type KernelLayerArgs } from '../models/layers/kernel-bias-layer.js';
import { type GradPrune, type PruneStats, parseGradPrune } from './grad-prune.js';

export interface SparseGradLayerArgs extends KernelLayerArgs {
  /** N:M mask `{n, m, kind}` or stochastic pruning `{kind: 'stochastic', p}` of dy. */
  gradSparsity: GradPrune;
  activation?: 'linear' | 'relu';
  useBias?: boolean;
  pruneInputGrad?: boolean;
  /** Seed of the mask draws and of the kernel initializer. */
  seed?: number;
}

export abstract class SparseGradLayer<T extends tf.Tensor = tf.Tensor> extends KernelBiasLayer<T> {
  readonly gradSparsity: GradPrune;
  readonly activationName: 'linear' | 'relu';
  readonly useBias: boolean;
  readonly pruneInputGrad: boolean;
  readonly seed: number;
  /** Zeros and entries of the pruned output gradients so far (reset it to measure a span). */
  readonly pruneStats: PruneStats = { zeros: 0, total: 0 };
  /** The draws of the masks, one stream per layer from `seed`. */
  protected readonly rng: Rng;

  /** `where` (the layer's class) starts the error messages. */
  constructor(args: SparseGradLayerArgs, where: string) {
    super(args);
    const a = args.activation;
    if (a !== undefined && a !== 'linear' && a !== 'relu')
      throw new Error(`${where}: activation must be 'linear' or 'relu', got ${String(a)}`);
    this.activationName = a ?? 'linear';
    this.gradSparsity = parseGradPrune(args.gradSparsity);
    this.useBias = args.useBias ?? true;
    this.pruneInputGrad = args.pruneInputGrad ?? false;
    this.seed = args.seed ?? 0;
    this.rng = makeRng(this.seed);
  }

  protected override activate(y: tf.Tensor): tf.Tensor {
    return this.activationName === 'relu' ? tf.relu(y) : y;
  }

  /** The plain tfjs layer's class ('Dense', 'Conv2D') and its own fields (units, filters, ...). */
  protected abstract plainFields(): { className: string; fields: tf.serialization.ConfigDict };

  /** The plain tfjs layer this layer trains as: its class and config (without name and trainable). */
  plainLayer(): { className: string; config: tf.serialization.ConfigDict } {
    const { className, fields } = this.plainFields();
    return {
      className,
      config: { ...fields, activation: this.activationName, useBias: this.useBias },
    };
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      ...this.plainLayer().config,
      gradSparsity: { ...this.gradSparsity },
      pruneInputGrad: this.pruneInputGrad,
      seed: this.seed,
    };
  }
}
