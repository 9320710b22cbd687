import * as tf from '@tensorflow/tfjs';
import { conv2dOutputShape } from '../../kernels/conv-output.js';
import { configWith } from '../../models/layers/layer-config.js';
import { convOutput } from '../../wasm/int-linear.js';
import { activationQuant } from './int-kernel.js';
import { type PackedLayerArgs, PackedLayerBase } from './packed-layer-base.js';

export interface PackedConv2DArgs extends PackedLayerArgs {
  strides?: [number, number];
  padding?: 'valid' | 'same';
  dilationRate?: [number, number];
}

/** Conv2D (channels last) with a packed kernel [kh, kw, in, out]. */
export class PackedConv2D extends PackedLayerBase {
  static className = 'FrugalPackedConv2D';
  readonly strides: [number, number];
  readonly padding: 'valid' | 'same';
  readonly dilationRate: [number, number];

  constructor(args: PackedConv2DArgs) {
    super(args);
    if (args.kernelShape.length !== 4)
      throw new Error(`PackedConv2D '${this.name}': kernelShape must be [kh, kw, in, out]`);
    this.strides = args.strides ?? [1, 1];
    this.padding = args.padding ?? 'valid';
    this.dilationRate = args.dilationRate ?? [1, 1];
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = inputShape as tf.Shape;
    if (shape.length !== 4 || shape[3] !== this.inChannels) {
      throw new Error(
        `PackedConv2D '${this.name}': expects [batch, h, w, ${this.inChannels}] inputs, got [${shape}]`,
      );
    }
    this.addPackedWeights();
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    return conv2dOutputShape(inputShape as tf.Shape, this);
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
      if (this.integerGap() === null) {
        const lin = this.integerKernel();
        const [batch, h, w, c] = x.shape;
        const [kh, kw] = this.kernelShape;
        const g = {
          batch,
          h,
          w,
          c,
          kh,
          kw,
          strides: this.strides,
          dilations: this.dilationRate,
          padding: this.padding,
        };
        const { oh, ow } = convOutput(g);
        const data = x.dtype === 'float32' ? x.dataSync() : Float32Array.from(x.dataSync());
        const y = lin.conv2d(data as Float32Array, g, activationQuant(), this.fusedRelu === true);
        return this.finishInteger(tf.tensor(y, [batch, oh, ow, this.outChannels]));
      }
      const kernel = this.kernelTensor() as tf.Tensor4D;
      const y = tf.conv2d(x, kernel, this.strides, this.padding, 'NHWC', this.dilationRate);
      return this.finish(y);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return configWith(super.getConfig(), this, ['strides', 'padding', 'dilationRate']);
  }
}
tf.serialization.registerClass(PackedConv2D);
