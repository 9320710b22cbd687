import * as tf from '@tensorflow/tfjs';
import { configWith } from '../../models/layers/layer-config.js';
import { type ChunkGrads, chunkedBackward } from '../backward/chunked-backward.js';
import { type ConvGrads, type ConvPadding, convChunkGrads } from '../backward/conv-grad.js';
import { type CompressedOp, compressedOp, type SaveTensors } from '../backward/custom-grad.js';
import {
  convGradsOf,
  type GradTransform,
  type GradTransformArgs,
  gradTransformFromArgs,
  inputProductOf,
  weightProductOf,
} from '../backward/grad-transform.js';
import { type ActivationName, applyActivation, layerActivation } from '../codec/activation-fns.js';
import { type ActivationSaved, activationGradRows } from '../codec/activation-save.js';
import type { Saved } from '../codec/saved.js';
import { CompressedLayer, type CompressedLayerArgs, single } from './compressed-layer.js';
import { windowArgs } from './window-args.js';

export interface CompressedKernelLayerArgs extends CompressedLayerArgs, GradTransformArgs {
  activation?: string | null;
  useBias?: boolean;
}

/**
 * Base of the compressed layers that apply a kernel, an optional bias and an activation (Dense,
 * Conv2D, DepthwiseConv2D): their backward keeps the input's save and the activation's
 * derivative state at the pre-activation values.
 */
export abstract class CompressedKernelLayer extends CompressedLayer {
  readonly activation: ActivationName;
  readonly useBias: boolean;
  protected kernel?: tf.LayerVariable;
  protected bias?: tf.LayerVariable;
  /** The pruning of dz before the weight-gradient product (`gradSparsity`; null: dense). */
  readonly gradPruner: GradTransform | null;

  constructor(args: CompressedKernelLayerArgs) {
    super(args);
    this.activation = layerActivation(this.name, args.activation);
    this.useBias = args.useBias ?? true;
    this.gradPruner = gradTransformFromArgs(this.name, args);
  }

  /** A weight-gradient product `f(a, dz)` that reads dz pruned by `gradSparsity`. */
  protected weightProduct<A extends tf.Tensor, B extends tf.Tensor, R>(
    f: (a: A, dz: B) => R,
  ): (a: A, dz: B) => R {
    return weightProductOf(this.gradPruner, f);
  }

  /** An input-gradient product `f(dz, w)` (pruned dz only with `pruneInputGrad`). */
  protected inputProduct<W extends tf.Tensor, B extends tf.Tensor, R>(
    f: (dz: B, w: W) => R,
  ): (dz: B, w: W) => R {
    return inputProductOf(this.gradPruner, f);
  }

  /** A convolution's gradients, the filter gradient reading dz pruned by `gradSparsity`. */
  protected convGrads(g: ConvGrads): ConvGrads {
    return convGradsOf(this.gradPruner, g);
  }

  /** Adds the kernel `name` of `shape` (Glorot uniform) and, with a bias, a zero bias of `units`. */
  protected addKernel(name: string, shape: number[], units: number): void {
    this.kernel = this.addWeight(name, shape, 'float32', tf.initializers.glorotUniform({}));
    if (this.useBias)
      this.bias = this.addWeight('bias', [units], 'float32', tf.initializers.zeros());
    this.built = true;
  }

  /**
   * Saves the activation's state at the pre-activation `z` beside `xs`, the save of the input `x`,
   * and hands both to the custom gradient (`save`); returns the parts in that order.
   */
  protected saveWithActivation(
    save: SaveTensors,
    x: tf.Tensor,
    xs: Saved<tf.Tensor>,
    z: tf.Tensor,
  ): { act: ActivationSaved; parts: Saved<unknown>[] } {
    const act = this.saveActivation(this.activation, z);
    const parts = [xs, act] as Saved<unknown>[];
    this.recordSaved(save, parts, 4 * (x.size + (this.activation === 'linear' ? 0 : z.size)));
    return { act, parts };
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      activation: this.activation,
      useBias: this.useBias,
      ...(this.gradPruner
        ? (this.gradPruner.getConfig() as unknown as tf.serialization.ConfigDict)
        : {}),
    };
  }
}

export interface CompressedConvLayerArgs extends CompressedKernelLayerArgs {
  kernelSize: number | [number, number];
  strides?: number | [number, number];
  padding?: ConvPadding;
}

/** A convolution layer's input `x`, kernel `w` and bias `b` (absent without a bias). */
export interface ConvOperands {
  x: tf.Tensor4D;
  w: tf.Tensor4D;
  b: tf.Tensor | undefined;
}

/**
 * Base of the compressed 2-D convolutions (channels last, no dilation): their window, and a call
 * that runs the exact forward outside training and `trainingOp`'s custom gradient in training.
 */
export abstract class CompressedConvLayer extends CompressedKernelLayer {
  readonly kernelSize: [number, number];
  readonly strides: [number, number];
  readonly padding: ConvPadding;

  constructor(args: CompressedConvLayerArgs) {
    super(args);
    const win = windowArgs(this.name, 'kernelSize', args, [1, 1]);
    [this.kernelSize, this.strides, this.padding] = [win.size, win.strides, win.padding];
  }

  /** The convolution of `x` with the kernel `w` at this layer's strides and padding. */
  protected abstract convolve(x: tf.Tensor4D, w: tf.Tensor4D): tf.Tensor4D;

  /** The training forward and backward of the layer on its input and weights. */
  protected abstract trainingOp(save: SaveTensors, operands: ConvOperands): CompressedOp;

  /**
   * The chunked backward of dy (chunkedBackward, `rows` samples a chunk): per chunk dz of its rows
   * through the activation's saved state (with db where the activation sums it), then the chunk's
   * input rows (`restoreX`, restored after dz) and the filter, input and bias gradients by
   * `grads`, read through the layer's gradSparsity. Returns dx, then the weight gradients.
   */
  protected chunkedConvBackward(
    grads: ConvGrads,
    act: ActivationSaved,
    sa: tf.Tensor[],
    dy: tf.Tensor,
    rows: number,
    restoreX: (first: number, count: number) => tf.Tensor4D,
    w: tf.Tensor4D,
    withBias: boolean,
    back: { freeDy: () => void; dyOwned: boolean; addTo: tf.Tensor | null },
  ): tf.Tensor[] {
    const total = dy.shape[0];
    const chunk = (dyRows: tf.Tensor, first: number, count: number): ChunkGrads => {
      const r = activationGradRows(act, sa, { first, count, total }, dyRows, withBias);
      const dz = r.dz as tf.Tensor4D;
      const xr = restoreX(first, count);
      const g = convChunkGrads(
        this.convGrads(grads),
        dz,
        xr,
        w,
        withBias,
        this.strides,
        this.padding,
        r.db,
      );
      if (dz !== dyRows) dz.dispose();
      return g;
    };
    const g = chunkedBackward(dy, rows, chunk, back.freeDy, back.dyOwned, back.addTo);
    return [g.dx, ...g.params];
  }

  /** The kernel and bias (read), for a fused op that runs this layer's training forward. */
  kernelAndBias(): { w: tf.Tensor4D; b: tf.Tensor | undefined } {
    return { w: this.kernel!.read() as tf.Tensor4D, b: this.bias?.read() };
  }

  /** The convolution plus the bias: the values the activation is applied to. */
  protected preActivation(x: tf.Tensor4D, w: tf.Tensor4D, b: tf.Tensor | undefined): tf.Tensor4D {
    const z = this.convolve(x, w);
    return b ? (tf.add(z, b) as tf.Tensor4D) : z;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: tf.serialization.ConfigDict): tf.Tensor {
    return tf.tidy(() => {
      const x = single(inputs) as tf.Tensor4D;
      const w = this.kernel!.read() as tf.Tensor4D;
      const b = this.bias?.read();
      if (!CompressedLayer.isTraining(kwargs))
        return applyActivation(this.activation, this.preActivation(x, w, b));
      return compressedOp(b ? [x, w, b] : [x, w], (save) => this.trainingOp(save, { x, w, b }));
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return configWith(super.getConfig(), this, ['kernelSize', 'strides', 'padding']);
  }
}
