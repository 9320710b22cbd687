import * as tf from '@tensorflow/tfjs';
import { checkQuantSpec, type QuantScheme } from '../compress/quantize/uniform.js';
import { conv2dOutputShape } from '../kernels/conv-output.js';
import { configWith } from '../models/layers/layer-config.js';
import { fakeQuant, kernelParams } from './fake-quant.js';
import { checkKernelInput, checkKernelShape } from './kernel-shape.js';

export interface QatLayerArgs {
  kind: 'dense' | 'conv2d';
  /** [in, out] or [kh, kw, in, out]. */
  kernelShape: number[];
  bits: number;
  scheme?: QuantScheme;
  useBias?: boolean;
  activation?: string;
  strides?: [number, number];
  padding?: 'valid' | 'same';
  dilationRate?: [number, number];
  name?: string;
  trainable?: boolean;
}

/**
 * A Dense or Conv2D (channels last) whose kernel is fake-quantized to `bits` per output channel
 * on every call (forward: compress's grid; backward: straight-through estimator). The float
 * kernel is the trainable weight; `convertQat` turns the layer into compress's packed layer with
 * the same codes. Simulated in float32 tfjs ops.
 */
export class QatLayer extends tf.layers.Layer {
  static className = 'FrugalQatLayer';
  readonly kind: 'dense' | 'conv2d';
  readonly kernelShape: number[];
  readonly bits: number;
  readonly scheme: QuantScheme;
  readonly useBias: boolean;
  readonly activationName: string;
  readonly strides: [number, number];
  readonly padding: 'valid' | 'same';
  readonly dilationRate: [number, number];
  private readonly activationLayer: tf.layers.Layer;
  kernel: tf.LayerVariable | null = null;
  bias: tf.LayerVariable | null = null;

  constructor(args: QatLayerArgs) {
    super(args);
    const where = `QatLayer '${this.name}'`;
    checkKernelShape(where, args.kind, args.kernelShape);
    checkQuantSpec(
      { bits: args.bits, scheme: args.scheme ?? 'symmetric', granularity: 'channel' },
      where,
    );
    this.kind = args.kind;
    this.kernelShape = [...args.kernelShape];
    this.bits = args.bits;
    this.scheme = args.scheme ?? 'symmetric';
    this.useBias = args.useBias ?? true;
    this.activationName = args.activation ?? 'linear';
    this.strides = args.strides ?? [1, 1];
    this.padding = args.padding ?? 'valid';
    this.dilationRate = args.dilationRate ?? [1, 1];
    this.activationLayer = tf.layers.activation({ activation: this.activationName as 'linear' });
  }

  get outChannels(): number {
    return this.kernelShape[this.kernelShape.length - 1];
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = inputShape as tf.Shape;
    checkKernelInput(`QatLayer '${this.name}'`, this.kind, this.kernelShape, shape);
    this.kernel = this.addWeight(
      'kernel',
      this.kernelShape,
      'float32',
      tf.initializers.glorotUniform({}),
    );
    if (this.useBias) {
      this.bias = this.addWeight('bias', [this.outChannels], 'float32', tf.initializers.zeros());
    }
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const shape = inputShape as tf.Shape;
    if (this.kind === 'dense') return [...shape.slice(0, -1), this.outChannels];
    return conv2dOutputShape(shape, this);
  }

  /** The fake-quantized kernel (STE gradient to the float kernel). */
  quantizedKernel(): tf.Tensor {
    return this.fakeQuantKernel((this.kernel as tf.LayerVariable).read());
  }

  /** `k` fake-quantized per output channel on this layer's grid (STE). Eager: reads `k`. */
  protected fakeQuantKernel(k: tf.Tensor): tf.Tensor {
    const params = kernelParams(k.dataSync(), this.outChannels, this.bits, this.scheme);
    return fakeQuant(k, params, this.scheme);
  }

  /** The layer's product (dense matmul or conv) of `x` with `kernel`, without bias. */
  protected product(x: tf.Tensor, kernel: tf.Tensor): tf.Tensor {
    if (this.kind === 'dense') {
      const inC = this.kernelShape[0];
      return tf
        .matMul(x.reshape([-1, inC]), kernel as tf.Tensor2D)
        .reshape([...x.shape.slice(0, -1), this.outChannels]);
    }
    return tf.conv2d(
      x as tf.Tensor4D,
      kernel as tf.Tensor4D,
      this.strides,
      this.padding,
      'NHWC',
      this.dilationRate,
    );
  }

  protected activate(y: tf.Tensor): tf.Tensor {
    return this.activationLayer.apply(y) as tf.Tensor;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      let y = this.product(x, this.quantizedKernel());
      if (this.bias) y = tf.add(y, this.bias.read());
      return this.activate(y);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    const keys = ['kind', 'kernelShape', 'bits', 'scheme', 'useBias'] as const;
    return configWith(super.getConfig(), this, keys, {
      activation: this.activationName,
      strides: this.strides,
      padding: this.padding,
      dilationRate: this.dilationRate,
    });
  }
}
tf.serialization.registerClass(QatLayer);
