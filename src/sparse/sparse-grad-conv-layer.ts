/**
 * Conv2D (NHWC, dilation 1, one group) whose backward prunes the output gradient dy before the
 * filter-gradient product (`sparseGradConv2d`): N:M along the batch, or stochastically. The
 * forward is the plain convolution; the bias gradient uses the dense dy.
 */
import * as tf from '@tensorflow/tfjs';
import { conv2dOutputShape } from '../kernels/conv-output.js';
import { onlyShape } from '../models/layers/kernel-bias-layer.js';
import { sparseGradConv2d } from './sparse-grad-conv.js';
import { SparseGradLayer, type SparseGradLayerArgs } from './sparse-grad-layer.js';

export interface SparseGradConv2DArgs extends SparseGradLayerArgs {
  filters: number;
  kernelSize: number | [number, number];
  strides?: number | [number, number];
  padding?: 'same' | 'valid';
}

function pair(v: number | number[] | undefined, d: number, what: string): [number, number] {
  const p: number[] = v === undefined ? [d, d] : typeof v === 'number' ? [v, v] : [...v];
  if (p.length !== 2 || !p.every((x) => Number.isInteger(x) && x >= 1))
    throw new Error(
      `SparseGradConv2D: ${what} must be a positive integer or a pair, got ${String(v)}`,
    );
  return [p[0], p[1]];
}

export class SparseGradConv2D extends SparseGradLayer<tf.Tensor4D> {
  static className = 'FrugalSparseGradConv2D';
  readonly filters: number;
  readonly kernelSize: [number, number];
  readonly strides: [number, number];
  readonly padding: 'same' | 'valid';

  constructor(args: SparseGradConv2DArgs) {
    super(args, 'SparseGradConv2D');
    if (!Number.isInteger(args.filters) || args.filters < 1)
      throw new Error(`SparseGradConv2D: filters must be a positive integer, got ${args.filters}`);
    const padding = args.padding ?? 'valid';
    if (padding !== 'same' && padding !== 'valid')
      throw new Error(
        `SparseGradConv2D: padding must be 'same' or 'valid', got ${String(padding)}`,
      );
    this.filters = args.filters;
    this.kernelSize = pair(args.kernelSize, 1, 'kernelSize');
    this.strides = pair(args.strides, 1, 'strides');
    this.padding = padding;
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
    const kernelShape = [...this.kernelSize, shape[3] as number, this.filters];
    return conv2dOutputShape(shape, { kernelShape, strides: this.strides, padding: this.padding });
  }

  protected override product(x: tf.Tensor4D, kernel: tf.Tensor4D): tf.Tensor {
    return sparseGradConv2d(
      x,
      kernel,
      this.strides,
      this.padding,
      this.gradSparsity,
      this.rng,
      this.pruneInputGrad,
      this.pruneStats,
    );
  }

  protected override plainFields(): { className: string; fields: tf.serialization.ConfigDict } {
    return {
      className: 'Conv2D',
      fields: {
        filters: this.filters,
        kernelSize: [...this.kernelSize],
        strides: [...this.strides],
        padding: this.padding,
      },
    };
  }
}
tf.serialization.registerClass(SparseGradConv2D);
