import * as tf from '@tensorflow/tfjs';
import { CONV2D_GRADS, type ConvPadding, convWeightGradsOnly } from '../backward/conv-grad.js';
import type { CompressedOp, SaveTensors } from '../backward/custom-grad.js';
import { applyActivation } from '../codec/activation-fns.js';
import { activationGradRows } from '../codec/activation-save.js';
import { restoreRowsOf, splitSaved } from '../codec/saved.js';
import { isConstantInput } from '../execution/constant-inputs.js';
import { isDonated } from '../execution/donated-inputs.js';
import { outsideGradient } from '../execution/fused.js';
import { rowsPerChunk, sliceRows } from '../execution/row-chunks.js';
import { overwriteRows } from '../execution/row-writer.js';
import {
  CompressedConvLayer,
  type CompressedConvLayerArgs,
  type ConvOperands,
} from './compressed-kernel-layer.js';
import { positiveInteger } from './layer-args.js';
import { nhwcChannels } from './window-args.js';

export interface CompressedConv2DArgs extends CompressedConvLayerArgs {
  filters: number;
}

/**
 * Conv2D (channels last, no dilation) whose backward keeps its input quantized and the
 * activation's derivative state; dX and dW are computed with forward convolutions only, so it
 * trains on any backend with a conv2d kernel. Weights `kernel` [kh, kw, in, filters] and `bias`.
 */
export class CompressedConv2D extends CompressedConvLayer {
  static className = 'FrugalCompressedConv2D';
  readonly filters: number;

  constructor(args: CompressedConv2DArgs) {
    super(args);
    this.filters = positiveInteger(this.name, 'filters', args.filters);
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const c = nhwcChannels(this.name, inputShape);
    this.addKernel('kernel', [...this.kernelSize, c, this.filters], this.filters);
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const [n, h, w] = inputShape as tf.Shape;
    const out = (size: number | null, i: 0 | 1) =>
      size == null ? null : outputSize(size, this.kernelSize[i], this.strides[i], this.padding);
    return [n, out(h, 0), out(w, 1), this.filters];
  }

  protected override convolve(x: tf.Tensor4D, w: tf.Tensor4D): tf.Tensor4D {
    return tf.conv2d(x, w, this.strides, this.padding);
  }

  protected override trainingOp(save: SaveTensors, { x, w, b }: ConvOperands): CompressedOp {
    // ReLU's mask is (y > 0), so one fused kernel gives the output without a separate z.
    const fusedRelu = this.activation === 'relu' && this.actBits !== 32;
    const convRows = (rows: tf.Tensor4D) =>
      fusedRelu
        ? outsideGradient(() =>
            tf.fused.conv2d({
              x: rows,
              filter: w,
              strides: this.strides,
              pad: this.padding,
              bias: b,
              activation: 'relu',
            }),
          )
        : tf.tidy(() => this.preActivation(rows, w, b));
    // x is saved (quantized: a copy) before anything else; where the caller frees x next
    // and z has x's size, z is written over x a chunk of samples at a time.
    const xs = this.saveInput(x);
    const needDx = !isConstantInput(x);
    const overwrite =
      this.actBits !== 32 &&
      isDonated(x) &&
      this.filters === x.shape[3] &&
      this.strides[0] === 1 &&
      this.strides[1] === 1 &&
      this.padding === 'same';
    const z = ((overwrite ? overwriteRows(x, (r) => convRows(r as tf.Tensor4D)) : null) ??
      convRows(x)) as tf.Tensor4D;
    const { act, parts } = this.saveWithActivation(save, x, xs, z);
    return {
      value: fusedRelu ? z : applyActivation(this.activation, z),
      gradFunc: (dy, saved, freeDy, dyOwned, addTo) => {
        const [sx, sa] = splitSaved(saved, parts);
        const n = x.shape[0];
        // A strided conv's input gradient works on dy dilated by the strides.
        const dilated = dy.size * this.strides[0] * this.strides[1];
        const rows = rowsPerChunk(n, (4 * Math.max(dilated, x.size)) / n);
        if (!needDx) {
          // No one reads dx (the first layer under the chunked forward): dW and db only.
          const params = convWeightGradsOnly(
            this.convGrads(CONV2D_GRADS),
            n,
            rows,
            (first, count) => {
              const dyRows = count === n ? dy : sliceRows(dy, first, count);
              const { dz, db } = activationGradRows(
                act,
                sa,
                { first, count, total: n },
                dyRows,
                !!b,
              );
              if (dyRows !== dy && dz !== dyRows) dyRows.dispose();
              const xr = restoreRowsOf(xs, sx, first, count) as tf.Tensor4D;
              return { dz: dz as tf.Tensor4D, xr, keep: dy, db };
            },
            w,
            !!b,
            this.strides,
            this.padding,
          );
          freeDy();
          return [tf.zeros(x.shape), ...params];
        }
        return this.chunkedConvBackward(
          CONV2D_GRADS,
          act,
          sa,
          dy,
          rows,
          (first, count) => restoreRowsOf(xs, sx, first, count) as tf.Tensor4D,
          w,
          !!b,
          { freeDy, dyOwned, addTo },
        );
      },
    };
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), filters: this.filters };
  }
}
tf.serialization.registerClass(CompressedConv2D);

function outputSize(size: number, k: number, s: number, padding: ConvPadding): number {
  return padding === 'valid' ? Math.floor((size - k) / s) + 1 : Math.ceil(size / s);
}
