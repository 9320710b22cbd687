import * as tf from '@tensorflow/tfjs';
import { chunkedBackward } from '../backward/chunked-backward.js';
import {
  type ConvPadding,
  convChunkGrads,
  DEPTHWISE_GRADS,
  padBefore,
} from '../backward/conv-grad.js';
import { compressedOp } from '../backward/custom-grad.js';
import { type ActivationName, applyActivation, layerActivation } from '../codec/activation-fns.js';
import { saveActivationGrad } from '../codec/activation-save.js';
import {
  restoreChunk,
  type Saved,
  savedBytes,
  saveList,
  saveQuantized,
  splitSaved,
} from '../codec/saved.js';
import { rowsPerChunk } from '../execution/row-chunks.js';
import { CompressedLayer, type CompressedLayerArgs, single } from './compressed-layer.js';
import { nhwcChannels, windowArgs } from './window-args.js';

export interface CompressedDepthwiseConv2DArgs extends CompressedLayerArgs {
  kernelSize: number | [number, number];
  strides?: number | [number, number];
  padding?: ConvPadding;
  activation?: string | null;
  useBias?: boolean;
}

/**
 * DepthwiseConv2D (channels last, channel multiplier 1, no dilation) whose backward keeps its
 * input quantized; dX and dW use forward depthwise convolutions only. Weights
 * `depthwise_kernel` [kh, kw, channels, 1] and `bias`, as tfjs-layers'.
 */
export class CompressedDepthwiseConv2D extends CompressedLayer {
  static className = 'FrugalCompressedDepthwiseConv2D';
  readonly kernelSize: [number, number];
  readonly strides: [number, number];
  readonly padding: ConvPadding;
  readonly activation: ActivationName;
  readonly useBias: boolean;
  private kernel?: tf.LayerVariable;
  private bias?: tf.LayerVariable;

  constructor(args: CompressedDepthwiseConv2DArgs) {
    super(args);
    const win = windowArgs(this.name, 'kernelSize', args, [1, 1]);
    [this.kernelSize, this.strides, this.padding] = [win.size, win.strides, win.padding];
    this.activation = layerActivation(this.name, args.activation);
    this.useBias = args.useBias ?? true;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const c = nhwcChannels(this.name, inputShape);
    this.kernel = this.addWeight(
      'depthwise_kernel',
      [...this.kernelSize, c, 1],
      'float32',
      tf.initializers.glorotUniform({}),
    );
    if (this.useBias) this.bias = this.addWeight('bias', [c], 'float32', tf.initializers.zeros());
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const [n, h, w, c] = inputShape as tf.Shape;
    const out = (size: number | null, i: 0 | 1) =>
      size == null ? null : padBefore(size, this.kernelSize[i], this.strides[i], this.padding).out;
    return [n, out(h, 0), out(w, 1), c];
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: tf.serialization.ConfigDict): tf.Tensor {
    return tf.tidy(() => {
      const x = single(inputs) as tf.Tensor4D;
      const w = this.kernel!.read() as tf.Tensor4D;
      const b = this.bias?.read();
      const forward = () => {
        const z = tf.depthwiseConv2d(x, w, this.strides, this.padding);
        return b ? tf.add(z, b) : z;
      };
      if (!CompressedLayer.isTraining(kwargs)) return applyActivation(this.activation, forward());
      return compressedOp(b ? [x, w, b] : [x, w], (save) => {
        const z = forward() as tf.Tensor4D;
        const xs = saveQuantized(x, this.actBits, this.perSample);
        const act = saveActivationGrad(this.activation, z, {
          bits: this.actBits,
          fewbit: this.fewbit,
          perSample: this.perSample,
        });
        const parts = [xs, act] as Saved<unknown>[];
        save(saveList(parts));
        this.lastSavedBytes = savedBytes(parts);
        this.lastExactBytes = 4 * (x.size + (this.activation === 'linear' ? 0 : z.size));
        return {
          value: applyActivation(this.activation, z),
          // In chunks of samples, like Conv2D: only a chunk's rows of x and dz exist at once.
          gradFunc: (dy, saved, freeDy, dyOwned) => {
            const [sx, sa] = splitSaved(saved, parts);
            const n = x.shape[0];
            const g = chunkedBackward(
              dy,
              rowsPerChunk(n, (4 * Math.max(dy.size, x.size)) / n),
              (dyRows, first, count) => {
                const dz = restoreChunk(act, sa, first, count, n)(dyRows) as tf.Tensor4D;
                const xr = restoreChunk(xs, sx, first, count, n) as tf.Tensor4D;
                const { strides, padding } = this;
                const g = convChunkGrads(DEPTHWISE_GRADS, dz, xr, w, !!b, strides, padding);
                if (dz !== dyRows) dz.dispose();
                return g;
              },
              freeDy,
              dyOwned,
            );
            return [g.dx, ...g.params];
          },
        };
      });
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      kernelSize: this.kernelSize,
      strides: this.strides,
      padding: this.padding,
      activation: this.activation,
      useBias: this.useBias,
    };
  }
}
tf.serialization.registerClass(CompressedDepthwiseConv2D);
