import * as tf from '@tensorflow/tfjs';
import { type ConvPadding, depthwiseInputGrad, padBefore } from '../backward/conv-grad.js';
import { compressedOp } from '../backward/custom-grad.js';
import { CompressedLayer, single } from './compressed-layer.js';
import { CompressedPoolLayer, type CompressedPoolLayerArgs } from './compressed-pool-layer.js';

export type NoSaveAvgPoolArgs = CompressedPoolLayerArgs;

/** In-bounds positions of each output window along one axis (windows cut by 'same' padding). */
function windowCounts(size: number, pool: number, stride: number, padding: ConvPadding): number[] {
  const { out, before } = padBefore(size, pool, stride, padding);
  return Array.from({ length: out }, (_, o) => {
    const first = o * stride - before;
    return Math.min(first + pool, size) - Math.max(first, 0);
  });
}

/**
 * 2-D average pooling (NHWC) that keeps nothing for backward: its gradient needs only the input
 * shape. dx spreads dy / (in-bounds window size) over each window, the gradient of tfjs's forward
 * (which averages over the in-bounds values only); it is computed as the input gradient of a
 * depthwise convolution with a filter of ones, so it runs on any backend.
 */
export class NoSaveAvgPool2D extends CompressedPoolLayer {
  static className = 'FrugalNoSaveAvgPool2D';

  constructor(args: NoSaveAvgPoolArgs = {}) {
    super(args);
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: tf.serialization.ConfigDict): tf.Tensor {
    return tf.tidy(() => {
      const x = single(inputs);
      if (x.rank !== 4)
        throw new Error(`${this.name}: expects NHWC input of rank 4, got shape [${x.shape}]`);
      const pool = () => tf.avgPool(x as tf.Tensor4D, this.poolSize, this.strides, this.padding);
      if (!CompressedLayer.isTraining(kwargs)) return pool();
      const shape = x.shape as [number, number, number, number];
      return compressedOp([x], () => {
        this.lastSavedBytes = 0;
        this.lastExactBytes = 4 * x.size;
        return { value: pool(), gradFunc: (dy) => [this.inputGrad(dy as tf.Tensor4D, shape)] };
      });
    });
  }

  /** dx from dy and the input shape alone. */
  private inputGrad(dy: tf.Tensor4D, shape: [number, number, number, number]): tf.Tensor4D {
    const [, h, w, c] = shape;
    const [ph, pw] = this.poolSize;
    const rows = windowCounts(h, ph, this.strides[0], this.padding);
    const cols = windowCounts(w, pw, this.strides[1], this.padding);
    const inv = new Float32Array(rows.length * cols.length);
    rows.forEach((r, i) => {
      cols.forEach((q, j) => {
        inv[i * cols.length + j] = 1 / (r * q);
      });
    });
    const scaled = tf.mul(dy, tf.tensor4d(inv, [1, rows.length, cols.length, 1]));
    return depthwiseInputGrad(
      scaled as tf.Tensor4D,
      tf.ones([ph, pw, c, 1]) as tf.Tensor4D,
      shape,
      this.strides,
      this.padding,
    );
  }
}
tf.serialization.registerClass(NoSaveAvgPool2D);
