/**
 * A Dense or Conv2D (NHWC, dilation 1) trained in low precision: the forward product runs on
 * affine per-tensor quantized weights and inputs, the backward quantizes the layer gradient with
 * stochastic rounding for the input-gradient product and keeps it float32 for the weight
 * gradient (see int8-ops.ts). The float32 kernel is the trainable weight (the master copy); the
 * bias and the activation stay float32. Inference quantizes the same way (dynamic per-batch
 * ranges). Simulated with float32 tfjs ops.
 */
import * as tf from '@tensorflow/tfjs';
import { conv2dOutputShape } from '../kernels/conv-output.js';
import {
  ActivatedKernelLayer,
  type KernelLayerArgs,
  onlyShape,
} from '../models/layers/kernel-bias-layer.js';
import { mulberry32 } from './grad-round.js';
import { lowPrecisionConv2d, lowPrecisionMatMul } from './int8-ops.js';
import { type LowPrecisionSpec, parseLowPrecision } from './int8-spec.js';
import { checkKernelInput, checkKernelShape } from './kernel-shape.js';

export interface LowPrecisionLayerArgs extends KernelLayerArgs {
  kind: 'dense' | 'conv2d';
  /** [in, out] or [kh, kw, in, out]. */
  kernelShape: number[];
  lowPrecision: LowPrecisionSpec;
  useBias?: boolean;
  activation?: string;
  strides?: [number, number];
  padding?: 'valid' | 'same';
  /** Seed of the stochastic-rounding draws. */
  seed?: number;
}

export class LowPrecisionLayer extends ActivatedKernelLayer {
  static className = 'FrugalLowPrecision';
  readonly kind: 'dense' | 'conv2d';
  readonly kernelShape: number[];
  readonly lowPrecision: LowPrecisionSpec;
  readonly useBias: boolean;
  readonly strides: [number, number];
  readonly padding: 'valid' | 'same';
  readonly seed: number;
  private readonly random: () => number;

  constructor(args: LowPrecisionLayerArgs) {
    super(args);
    const where = `LowPrecisionLayer '${this.name}'`;
    checkKernelShape(where, args.kind, args.kernelShape);
    const padding = args.padding ?? 'valid';
    if (padding !== 'same' && padding !== 'valid')
      throw new Error(`${where}: padding must be 'same' or 'valid', got ${String(padding)}`);
    this.kind = args.kind;
    this.kernelShape = [...args.kernelShape];
    this.lowPrecision = parseLowPrecision(args.lowPrecision, `${where} lowPrecision`);
    this.useBias = args.useBias ?? true;
    this.strides = args.strides ?? [1, 1];
    this.padding = padding;
    this.seed = args.seed ?? 0;
    this.random = mulberry32(this.seed);
  }

  get outChannels(): number {
    return this.kernelShape[this.kernelShape.length - 1];
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = onlyShape(inputShape);
    checkKernelInput(`LowPrecisionLayer '${this.name}'`, this.kind, this.kernelShape, shape);
    this.addKernelAndBias(this.kernelShape, this.useBias, this.seed);
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const shape = onlyShape(inputShape);
    if (this.kind === 'dense') return [...shape.slice(0, -1), this.outChannels];
    return conv2dOutputShape(shape, this);
  }

  protected override product(x: tf.Tensor, k: tf.Tensor): tf.Tensor {
    const nextSeed = () => Math.floor(this.random() * 2 ** 31);
    if (this.kind === 'dense') {
      const inC = this.kernelShape[0];
      return lowPrecisionMatMul(
        x.reshape([-1, inC]) as tf.Tensor2D,
        k as tf.Tensor2D,
        this.lowPrecision,
        nextSeed,
      ).reshape([...x.shape.slice(0, -1), this.outChannels]);
    }
    return lowPrecisionConv2d(
      x as tf.Tensor4D,
      k as tf.Tensor4D,
      this.strides,
      this.padding,
      this.lowPrecision,
      nextSeed,
    );
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      kind: this.kind,
      kernelShape: this.kernelShape,
      lowPrecision: { ...this.lowPrecision },
      useBias: this.useBias,
      activation: this.activationName,
      strides: this.strides,
      padding: this.padding,
      seed: this.seed,
    };
  }
}
tf.serialization.registerClass(LowPrecisionLayer);
