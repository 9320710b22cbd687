// What the OPT layers (OptDense in opt.ts, OptConv2D in opt-conv.ts) share: the frozen kernel read
// as [inputDim, out] (one column per neuron), the learned skew S of the rotated block, the rows that
// block covers and the bias; the fold of R into the frozen kernel and the draw of a new block.
import * as tf from '@tensorflow/tfjs';
import { makeRng, permutation } from '../engine/random.js';
import { configWith } from '../models/layers/layer-config.js';
import type { OptVariant } from './config.js';

/** The input rows an OPT layer rotates: all (Cayley) or a random sorted block (stochastic). */
export function drawOptRows(
  variant: OptVariant,
  block: number,
  inputDim: number,
  seed: number,
  draw: number,
): Float32Array {
  if (variant === 'cayley') return Float32Array.from({ length: block }, (_, i) => i);
  const p = permutation(inputDim, makeRng(seed * 7919 + draw))
    .slice(0, block)
    .sort();
  return Float32Array.from(p);
}

/** What `optHooks` needs of an OPT layer (OptDense, OptConv2D). */
export interface OptLayer {
  readonly variant: OptVariant;
  foldAndResample(): void;
}

/** The rotated block size of an OPT layer with `inputDim` inputs (all of them for Cayley). */
export function optBlock(variant: OptVariant, inputDim: number, block = 64): number {
  const b = variant === 'cayley' ? inputDim : Math.min(block, inputDim);
  if (!(Number.isInteger(b) && b >= 2))
    throw new Error(`opt: the rotated block must be 2 or more dimensions, got ${b}`);
  return b;
}

/** The config fields every OPT layer takes. */
export interface OptLayerConfig {
  activation?: string;
  useBias?: boolean;
  variant?: OptVariant;
  /** Stochastic variant: input dimensions rotated at a time. */
  block?: number;
  seed?: number;
  name?: string;
  trainable?: boolean;
  dtype?: tf.DataType;
}

/**
 * The frame of an OPT layer with `inputDim` rows in its frozen kernel: its weights (skew, bias,
 * fixed kernel, rows, in that order), the activation, and the fold-and-resample step. The subclass
 * gives the kernel it applies (`effectiveKernel`) and its call.
 */
export abstract class OptLayerBase extends tf.layers.Layer implements OptLayer {
  /** Rows of the frozen kernel read as a matrix (Dense: inputs; Conv2D: kh * kw * cin). */
  readonly inputDim: number;
  readonly activationName: string;
  readonly useBias: boolean;
  readonly variant: OptVariant;
  readonly block: number;
  readonly seed: number;
  private draws = 0;
  protected skew: tf.LayerVariable | null = null;
  protected bias: tf.LayerVariable | null = null;
  protected fixed: tf.LayerVariable | null = null;
  protected rows: tf.LayerVariable | null = null;
  protected readonly act: (x: tf.Tensor) => tf.Tensor;

  constructor(c: OptLayerConfig, inputDim: number) {
    super(c);
    this.inputDim = inputDim;
    this.activationName = c.activation ?? 'linear';
    this.useBias = c.useBias ?? true;
    this.variant = c.variant ?? 'cayley';
    this.seed = c.seed ?? 1;
    this.block = optBlock(this.variant, inputDim, c.block);
    // Reuse tfjs's activation by applying a throwaway Activation layer's function.
    const activation = tf.layers.activation({ activation: this.activationName as 'linear' });
    this.act = (x) => activation.apply(x) as tf.Tensor;
  }

  /**
   * Adds the weights: the skew S (zeros, so R = I), a zero bias of `outputs`, the frozen kernel
   * of `kernelShape` (Glorot uniform from the seed) and the first block of rows; the layer is then
   * built.
   */
  protected addOptWeights(kernelShape: number[], outputs: number): void {
    const d = this.block;
    this.skew = this.addWeight('skew', [d, d], 'float32', tf.initializers.zeros(), undefined, true);
    if (this.useBias)
      this.bias = this.addWeight('bias', [outputs], 'float32', tf.initializers.zeros());
    this.fixed = this.addWeight(
      'fixed_kernel',
      kernelShape,
      'float32',
      tf.initializers.glorotUniform({ seed: this.seed }),
      undefined,
      false,
    );
    this.rows = this.addWeight('rows', [d], 'float32', tf.initializers.zeros(), undefined, false);
    const rows = this.rows;
    tf.tidy(() => {
      rows.write(tf.tensor1d(this.drawRows()));
    });
    this.built = true;
  }

  private drawRows(): Float32Array {
    return drawOptRows(this.variant, this.block, this.inputDim, this.seed, this.draws++);
  }

  /** The kernel the layer applies, in the frozen kernel's shape. */
  abstract effectiveKernel(): tf.Tensor;

  /** Sets the frozen kernel and the bias (from the layer OPT replaces). */
  setFrozen(kernel: tf.Tensor, bias?: tf.Tensor): void {
    (this.fixed as tf.LayerVariable).write(kernel);
    if (bias && this.bias) this.bias.write(bias);
  }

  /** Folds R into the frozen kernel, resets S to 0 (R = I) and draws a new block of rows. */
  foldAndResample(): void {
    if (!this.built) return;
    const k = this.effectiveKernel();
    (this.fixed as tf.LayerVariable).write(k);
    k.dispose();
    tf.tidy(() => {
      (this.skew as tf.LayerVariable).write(tf.zeros([this.block, this.block]));
      (this.rows as tf.LayerVariable).write(tf.tensor1d(this.drawRows()));
    });
  }

  /** The config fields of every OPT layer, in the order getConfig lists them after its own. */
  protected optConfig(): tf.serialization.ConfigDict {
    const activation = this.activationName;
    return configWith({ activation }, this, ['useBias', 'variant', 'block', 'seed']);
  }
}
