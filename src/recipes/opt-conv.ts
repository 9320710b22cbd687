// OPT for Conv2D (Liu et al., CVPR 2021): each filter, a kh x kw x cin vector, is one neuron. The
// frozen kernel W [kh, kw, cin, cout] is read as [d, cout] with d = kh kw cin, the same orthogonal
// R [d, d] (Cayley transform of a learned skew S) rotates every filter, and the layer convolves
// with reshape(R W). The stochastic variant rotates a random block of the d rows and folds it in
// every `resampleEvery` steps (optHooks), as OptDense does.
import * as tf from '@tensorflow/tfjs';
import { configWith } from '../models/layers/layer-config.js';
import { rotatedKernel } from './opt.js';
import { OptLayerBase, type OptLayerConfig } from './opt-layer.js';

export interface OptConv2DConfig extends OptLayerConfig {
  filters: number;
  kernelSize: [number, number];
  /** Input channels (the frozen kernel's third axis). */
  inChannels: number;
  strides?: [number, number];
  padding?: 'same' | 'valid';
  dilationRate?: [number, number];
}

/** A Conv2D (channels last) trained the OPT way. Weights: skew, bias, fixed kernel, rows. */
export class OptConv2D extends OptLayerBase {
  static className = 'FrugalOptConv2D';
  readonly filters: number;
  readonly kernelSize: [number, number];
  readonly inChannels: number;
  readonly strides: [number, number];
  readonly padding: 'same' | 'valid';
  readonly dilationRate: [number, number];

  constructor(c: OptConv2DConfig) {
    super(c, c.kernelSize[0] * c.kernelSize[1] * c.inChannels);
    this.filters = c.filters;
    this.kernelSize = c.kernelSize;
    this.inChannels = c.inChannels;
    this.strides = c.strides ?? [1, 1];
    this.padding = c.padding ?? 'valid';
    this.dilationRate = c.dilationRate ?? [1, 1];
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    if (s[s.length - 1] !== this.inChannels)
      throw new Error(
        `opt conv '${this.name}': expects ${this.inChannels} input channels, got ${s[s.length - 1]}`,
      );
    this.addOptWeights([...this.kernelSize, this.inChannels, this.filters], this.filters);
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const out = (n: number | null, i: 0 | 1) => {
      if (n === null) return null;
      const k = (this.kernelSize[i] - 1) * this.dilationRate[i] + 1;
      return this.padding === 'same'
        ? Math.ceil(n / this.strides[i])
        : Math.ceil((n - k + 1) / this.strides[i]);
    };
    return [s[0], out(s[1], 0), out(s[2], 1), this.filters];
  }

  /** The kernel [kh, kw, cin, cout] the layer convolves with: reshape(R W). */
  effectiveKernel(): tf.Tensor4D {
    return tf.tidy(() => {
      const w = (this.fixed as tf.LayerVariable).read();
      const k = rotatedKernel(
        tf.reshape(w, [this.inputDim, this.filters]) as tf.Tensor2D,
        (this.skew as tf.LayerVariable).read() as tf.Tensor2D,
        (this.rows as tf.LayerVariable).read() as tf.Tensor1D,
        this.variant,
      );
      return tf.reshape(k, [...this.kernelSize, this.inChannels, this.filters]) as tf.Tensor4D;
    });
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
      let y: tf.Tensor = tf.conv2d(
        x,
        this.effectiveKernel(),
        this.strides,
        this.padding,
        'NHWC',
        this.dilationRate,
      );
      if (this.bias) y = tf.add(y, this.bias.read());
      return this.act(y);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    const own = [
      'filters',
      'kernelSize',
      'inChannels',
      'strides',
      'padding',
      'dilationRate',
    ] as const;
    return configWith(super.getConfig(), this, own, this.optConfig());
  }
}
tf.serialization.registerClass(OptConv2D);
