import * as tf from '@tensorflow/tfjs';
import { chunkedBackward } from '../backward/chunked-backward.js';
import type { CompressedOp, SaveTensors } from '../backward/custom-grad.js';
import { normGrad, normSums, xhatRows } from '../backward/norm-rows.js';
import { type Saved, saveExact, splitSaved } from '../codec/saved.js';
import { isDonated } from '../execution/donated-inputs.js';
import { rowsPerChunk, sliceRows } from '../execution/row-chunks.js';
import { overwriteRows } from '../execution/row-writer.js';
import {
  CompressedNormLayer,
  type CompressedNormLayerArgs,
  type NormOperands,
} from './compressed-norm-layer.js';

export interface CompressedBatchNormArgs extends CompressedNormLayerArgs {
  momentum?: number;
}

/**
 * Batch normalization over the last axis (tfjs-layers' formulas and moving-average update) whose
 * backward keeps the normalized input quantized plus the exact per-channel 1/std. Weights
 * `gamma`, `beta`, `moving_mean`, `moving_variance`, as tfjs-layers' BatchNormalization.
 */
export class CompressedBatchNorm extends CompressedNormLayer {
  static className = 'FrugalCompressedBatchNorm';
  readonly momentum: number;
  private movingMean?: tf.LayerVariable;
  private movingVariance?: tf.LayerVariable;

  constructor(args: CompressedBatchNormArgs) {
    super(args);
    this.momentum = args.momentum ?? 0.99;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const c = this.addScaleAndShift(inputShape, 'the channel dimension');
    // The moving statistics, not trainable.
    const stat = (name: string, init: ReturnType<typeof tf.initializers.zeros>) =>
      this.addWeight(name, [c], 'float32', init, undefined, false);
    this.movingMean = stat('moving_mean', tf.initializers.zeros());
    this.movingVariance = stat('moving_variance', tf.initializers.ones());
    this.built = true;
  }

  protected override inference(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor): tf.Tensor {
    const mean = this.movingMean!.read();
    return tf.batchNorm(x, mean, this.movingVariance!.read(), beta, gamma, this.epsilon);
  }

  protected override trainingOp(save: SaveTensors, { x, gamma, beta }: NormOperands): CompressedOp {
    const axes = x.shape.map((_, i) => i).slice(0, -1);
    const { mean, variance } = chunkedMoments(x, axes);
    const invStd = tf.rsqrt(tf.add(variance, this.epsilon));
    this.updateMovingStatistics(mean, variance);
    // Saves the input (as ActNN does) and the batch statistics; the backward rebuilds rows of
    // xhat = (x - mean) * invStd. The output is one fused kernel: no full-size temporary.
    const xs = this.saveInput(x);
    const st = saveExact(tf.concat([mean, invStd]));
    const parts = [xs, st] as Saved<unknown>[];
    this.recordSaved(save, parts, 4 * (x.size + 2 * invStd.size));
    return {
      // Written over x where the caller frees x next (x is saved quantized, a copy).
      value:
        (this.actBits !== 32 && isDonated(x)
          ? overwriteRows(x, (r) => tf.batchNorm(r, mean, variance, beta, gamma, this.epsilon))
          : null) ?? tf.batchNorm(x, mean, variance, beta, gamma, this.epsilon),
      // dx = invStd * gamma * (dy - sum(dy)/m - xhat * sum(dy * xhat)/m): one pass over row
      // chunks for the two sums (= dbeta, dgamma), one for dx, so only rows of xhat are
      // ever rebuilt and no full-size temporary besides dx exists.
      gradFunc: (dy, saved, freeDy, dyOwned, addTo) => {
        const [sx, ss] = splitSaved(saved, parts);
        const [mu, is] = tf.split(st.restore(ss), 2);
        const xhRows = xhatRows(xs, sx, mu, is);
        const sums = normSums(dy, xhRows, gamma);
        const dnorm = normGrad(sums, is, gamma, x.size);
        // A chunk makes about four temporaries of its size (rows of xhat, products, sums):
        // chunks of a quarter of the setting keep them within it (as normSums' chunks).
        const n = dy.shape[0];
        const g = chunkedBackward(
          dy,
          rowsPerChunk(n, (16 * dy.size) / n),
          (d, first, count) => {
            const xh = xhRows(first, count);
            const dx = dnorm(d, xh);
            xh.dispose();
            return { dx, params: [] };
          },
          freeDy,
          dyOwned,
          addTo,
        );
        dnorm.dispose();
        tf.dispose([mu, is]);
        return [g.dx, sums.dgamma, sums.dbeta];
      },
    };
  }

  /** Moves the moving mean and variance towards a training batch's (tfjs-layers' update). */
  updateMovingStatistics(mean: tf.Tensor, variance: tf.Tensor): void {
    for (const [v, value] of [
      [this.movingMean!, mean],
      [this.movingVariance!, variance],
    ] as const) {
      const old = v.read();
      const next = tf.tidy(() => tf.sub(old, tf.mul(tf.sub(old, value), 1 - this.momentum)));
      v.write(next);
      next.dispose(); // the variable holds its own reference
    }
  }

  /** The scale and shift (read), for a fused op that runs this layer's training forward. */
  scaleAndShift(): { gamma: tf.Tensor; beta: tf.Tensor } {
    return { gamma: this.gamma!.read(), beta: this.beta!.read() };
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), momentum: this.momentum };
  }
}
tf.serialization.registerClass(CompressedBatchNorm);

/**
 * Batch mean and variance over `axes` (all but the channel axis) computed a chunk of rows at a
 * time, in two passes (mean, then squared deviations) for accuracy: tf.moments would make three
 * full-size temporaries (a cast, the deviations and their squares).
 */
export function chunkedMoments(
  x: tf.Tensor,
  axes: number[],
): { mean: tf.Tensor1D; variance: tf.Tensor1D } {
  const n = x.shape[0];
  const count = x.size / x.shape[x.rank - 1];
  const rows = rowsPerChunk(n, (4 * x.size) / n);
  const sumOver = (f: (part: tf.Tensor) => tf.Tensor): tf.Tensor1D => {
    let total: tf.Tensor | null = null;
    for (let first = 0; first < n; first += rows) {
      const part = sliceRows(x, first, Math.min(rows, n - first));
      const s = tf.tidy(() => tf.sum(f(part), axes));
      part.dispose();
      const next: tf.Tensor = total ? tf.add(total, s) : s;
      if (total) tf.dispose([total, s]);
      total = next;
    }
    const out = tf.div(total as tf.Tensor, count) as tf.Tensor1D;
    (total as tf.Tensor).dispose();
    return out;
  };
  const mean = sumOver((p) => p);
  const variance = sumOver((p) => tf.square(tf.sub(p, mean)));
  return { mean, variance };
}
