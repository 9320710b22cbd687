import * as tf from '@tensorflow/tfjs';
import { chunkedBackward } from '../backward/chunked-backward.js';
import type { CompressedOp, SaveTensors } from '../backward/custom-grad.js';
import { restoreChunk, type Saved, saveExact, splitSaved } from '../codec/saved.js';
import { rowsPerChunk } from '../execution/row-chunks.js';
import {
  CompressedNormLayer,
  type CompressedNormLayerArgs,
  type NormOperands,
} from './compressed-norm-layer.js';

export type CompressedLayerNormArgs = CompressedNormLayerArgs;

/**
 * Layer normalization over the last axis (gamma and beta, as tfjs-layers') whose backward keeps
 * the normalized input quantized plus the exact 1/std of each row.
 */
export class CompressedLayerNorm extends CompressedNormLayer {
  static className = 'FrugalCompressedLayerNorm';

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    this.addScaleAndShift(inputShape, 'the last dimension');
    this.built = true;
  }

  /** x normalized over its last axis, and the 1/std of each row. */
  private normalize(x: tf.Tensor): { xhat: tf.Tensor; invStd: tf.Tensor } {
    const { mean, variance } = tf.moments(x, x.rank - 1, true);
    const invStd = tf.rsqrt(tf.add(variance, this.epsilon));
    return { xhat: tf.mul(tf.sub(x, mean), invStd), invStd };
  }

  protected override inference(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor): tf.Tensor {
    return tf.add(tf.mul(this.normalize(x).xhat, gamma), beta);
  }

  protected override trainingOp(save: SaveTensors, { x, gamma, beta }: NormOperands): CompressedOp {
    const last = x.rank - 1;
    const { xhat, invStd } = this.normalize(x);
    const xs = this.saveInput(xhat);
    const st = saveExact(invStd);
    const parts = [xs, st] as Saved<unknown>[];
    this.recordSaved(save, parts, 4 * (x.size + invStd.size));
    return {
      value: tf.add(tf.mul(xhat, gamma), beta),
      // Rows are normalized independently: the backward runs in chunks of samples, each
      // rebuilding only its rows of x-hat (dgamma and dbeta are summed over the chunks).
      gradFunc: (dy, saved, freeDy, dyOwned) => {
        const [sx, ss] = splitSaved(saved, parts);
        const n = x.shape[0];
        const g = chunkedBackward(
          dy,
          rowsPerChunk(n, (4 * x.size) / n),
          (dyRows, first, count) =>
            tf.tidy(() => {
              const xh = restoreChunk(xs, sx, first, count, n);
              const is = restoreChunk(st, ss, first, count, n);
              const axes = xh.shape.map((_, i) => i).slice(0, -1);
              const dgamma = tf.sum(tf.mul(dyRows, xh), axes);
              const dbeta = tf.sum(dyRows, axes);
              const dxhat = tf.mul(dyRows, gamma);
              const centred = tf.tidy(() => tf.sub(dxhat, tf.mean(dxhat, last, true)));
              const proj = tf.tidy(() => tf.mul(xh, tf.mean(tf.mul(dxhat, xh), last, true)));
              tf.dispose([dxhat, xh]);
              const dx = tf.mul(is, tf.sub(centred, proj));
              return { dx, params: [dgamma, dbeta] };
            }),
          freeDy,
          dyOwned,
        );
        return [g.dx, ...g.params];
      },
    };
  }
}
tf.serialization.registerClass(CompressedLayerNorm);
