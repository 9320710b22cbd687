/**
 * Conv2D (NHWC, dilation 1, one group) whose backward prunes the output gradient dy before the
 * filter-gradient product (`sparseGradConv2d`): N:M along the batch, or stochastically. The
 * forward is the plain convolution; the bias gradient uses the dense dy.
 */
import * as tf from '@tensorflow/tfjs';
import { makeRng, type Rng } from '../engine/random.js';
import {
  KernelBiasLayer,
  type KernelLayerArgs,
  onlyShape,
} from '../models/layers/kernel-bias-layer.js';
import { type GradPrune, type PruneStats, parseGradPrune } from './grad-prune.js';
import { sparseGradConv2d } from './sparse-grad-conv.js';

export interface SparseGradConv2DArgs extends KernelLayerArgs {
  filters: number;
  kernelSize: number | [number, number];
  strides?: number | [number, number];
  padding?: 'same' | 'valid';
  activation?: 'linear' | 'relu';
  useBias?: boolean;
  /** N:M mask `{n, m, kind}` or stochastic pruning `{kind: 'stochastic', p}` of dy. */
  gradSparsity: GradPrune;
  pruneInputGrad?: boolean;
  /** Seed of the mask draws and of the kernel initializer. */
  seed?: number;
}

function pair(v: number | number[] | undefined, d: number, what: string): [number, number] {
  const p: number[] = v === undefined ? [d, d] : typeof v === 'number' ? [v, v] : [...v];
  if (p.length !== 2 || !p.every((x) => Number.isInteger(x) && x >= 1))
    throw new Error(
      `SparseGradConv2D: ${what} must be a positive integer or a pair, got ${String(v)}`,
    );
  return [p[0], p[1]];
}

export class SparseGradConv2D extends KernelBiasLayer {
  static className = 'FrugalSparseGradConv2D';
  readonly filters: number;
  readonly kernelSize: [number, number];
  readonly strides: [number, number];
  readonly padding: 'same' | 'valid';
  readonly activationName: 'linear' | 'relu';
  readonly useBias: boolean;
  readonly gradSparsity: GradPrune;
  readonly pruneInputGrad: boolean;
  readonly seed: number;
  /** Zeros and entries of the pruned output gradients so far (reset it to measure a span). */
  readonly pruneStats: PruneStats = { zeros: 0, total: 0 };
  private readonly rng: Rng;

  constructor(args: SparseGradConv2DArgs) {
    super(args);
    if (!Number.isInteger(args.filters) || args.filters < 1)
      throw new Error(`SparseGradConv2D: filters must be a positive integer, got ${args.filters}`);
    if (args.activation !== undefined && args.activation !== 'linear' && args.activation !== 'relu')
      throw new Error(
        `SparseGradConv2D: activation must be 'linear' or 'relu', got ${String(args.activation)}`,
      );
    const padding = args.padding ?? 'valid';
    if (padding !== 'same' && padding !== 'valid')
      throw new Error(
        `SparseGradConv2D: padding must be 'same' or 'valid', got ${String(padding)}`,
      );
    this.filters = args.filters;
    this.kernelSize = pair(args.kernelSize, 1, 'kernelSize');
    this.strides = pair(args.strides, 1, 'strides');
    this.padding = padding;
    this.activationName = args.activation ?? 'linear';
    this.useBias = args.useBias ?? true;
    this.gradSparsity = parseGradPrune(args.gradSparsity);
    this.pruneInputGrad = args.pruneInputGrad ?? false;
    this.seed = args.seed ?? 0;
    this.rng = makeRng(this.seed);
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = onlyShape(inputShape);
    if (shape.length !== 4)
      throw new Error(
        `${this.name}: SparseGradConv2D takes [batch, h, w, channels], got [${shape}]`,
      );
    const inC = shape[3] as number;
    this.addKernelAndBias([...this.kernelSize, inC, this.filters], this.useBias, this.seed);
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const shape = onlyShape(inputShape);
    const out = (len: number | null, k: number, s: number) =>
      len === null
        ? null
        : this.padding === 'same'
          ? Math.ceil(len / s)
          : Math.ceil((len - k + 1) / s);
    return [
      shape[0],
      out(shape[1], this.kernelSize[0], this.strides[0]),
      out(shape[2], this.kernelSize[1], this.strides[1]),
      this.filters,
    ];
  }

  protected override product(x: tf.Tensor, kernel: tf.Tensor): tf.Tensor {
    return sparseGradConv2d(
      x as tf.Tensor4D,
      kernel as tf.Tensor4D,
      this.strides,
      this.padding,
      this.gradSparsity,
      this.rng,
      this.pruneInputGrad,
      this.pruneStats,
    );
  }

  protected override activate(y: tf.Tensor): tf.Tensor {
    return this.activationName === 'relu' ? tf.relu(y) : y;
  }

  /** The plain Conv2D this layer trains as: its class and config (without name and trainable). */
  plainLayer(): { className: string; config: tf.serialization.ConfigDict } {
    return {
      className: 'Conv2D',
      config: {
        filters: this.filters,
        kernelSize: [...this.kernelSize],
        strides: [...this.strides],
        padding: this.padding,
        activation: this.activationName,
        useBias: this.useBias,
      },
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
tf.serialization.registerClass(SparseGradConv2D);
