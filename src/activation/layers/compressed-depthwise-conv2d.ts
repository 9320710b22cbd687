import * as tf from '@tensorflow/tfjs';
import { DEPTHWISE_GRADS, padBefore } from '../backward/conv-grad.js';
import type { CompressedOp, SaveTensors } from '../backward/custom-grad.js';
import { applyActivation } from '../codec/activation-fns.js';
import { restoreChunk, splitSaved } from '../codec/saved.js';
import { rowsPerChunk } from '../execution/row-chunks.js';
import {
  CompressedConvLayer,
  type CompressedConvLayerArgs,
  type ConvOperands,
} from './compressed-kernel-layer.js';
import { nhwcChannels } from './window-args.js';

export type CompressedDepthwiseConv2DArgs = CompressedConvLayerArgs;

/**
 * DepthwiseConv2D (channels last, channel multiplier 1, no dilation) whose backward keeps its
 * input quantized; dX and dW use forward depthwise convolutions only. Weights
 * `depthwise_kernel` [kh, kw, channels, 1] and `bias`, as tfjs-layers'.
 */
export class CompressedDepthwiseConv2D extends CompressedConvLayer {
  static className = 'FrugalCompressedDepthwiseConv2D';

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const c = nhwcChannels(this.name, inputShape);
    this.addKernel('depthwise_kernel', [...this.kernelSize, c, 1], c);
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const [n, h, w, c] = inputShape as tf.Shape;
    const out = (size: number | null, i: 0 | 1) =>
      size == null ? null : padBefore(size, this.kernelSize[i], this.strides[i], this.padding).out;
    return [n, out(h, 0), out(w, 1), c];
  }

  protected override convolve(x: tf.Tensor4D, w: tf.Tensor4D): tf.Tensor4D {
    return tf.depthwiseConv2d(x, w, this.strides, this.padding);
  }

  protected override trainingOp(save: SaveTensors, { x, w, b }: ConvOperands): CompressedOp {
    const z = this.preActivation(x, w, b);
    const xs = this.saveInput(x);
    const { act, parts } = this.saveWithActivation(save, x, xs, z);
    return {
      value: applyActivation(this.activation, z),
      // In chunks of samples, like Conv2D: only a chunk's rows of x and dz exist at once.
      gradFunc: (dy, saved, freeDy, dyOwned) => {
        const [sx, sa] = splitSaved(saved, parts);
        const n = x.shape[0];
        return this.chunkedConvBackward(
          DEPTHWISE_GRADS,
          act,
          sa,
          dy,
          rowsPerChunk(n, (4 * Math.max(dy.size, x.size)) / n),
          (first, count) => restoreChunk(xs, sx, first, count, n) as tf.Tensor4D,
          w,
          !!b,
          { freeDy, dyOwned, addTo: null },
        );
      },
    };
  }
}
tf.serialization.registerClass(CompressedDepthwiseConv2D);
