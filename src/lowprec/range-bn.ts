import * as tf from '@tensorflow/tfjs';
import { configWith } from '../models/layers/layer-config.js';

/**
 * Scale-adjustment constant C(n) of Range BatchNorm for chunks of n rows, as in the reference
 * code of Banner et al. ("Scalable methods for 8-bit training", quantized.pytorch RangeBN):
 * C(n) = 0.5 * 0.35 * (1 + sqrt(pi * ln 4)) / sqrt(2 ln n). For Gaussian data the mean chunk
 * range times C(n) estimates the standard deviation up to a bias that shrinks as n grows
 * (about -10% at n = 64, since E[range] of n Gaussians is a little under 2 sqrt(2 ln n) sigma).
 */
export function rangeBnConstant(n: number): number {
  if (!Number.isInteger(n) || n < 2)
    throw new Error(`Range BN: chunk size must be an integer >= 2, got ${n}`);
  return (0.5 * 0.35 * (1 + Math.sqrt(Math.PI * Math.log(4)))) / Math.sqrt(2 * Math.log(n));
}

/**
 * The chunks `rows` split into: the largest count <= `wanted` that divides `rows` into equal
 * chunks of at least 2 rows (a last, smaller batch of an epoch still normalises); 0 if none.
 */
export function chunkCount(rows: number, wanted: number): number {
  for (let k = Math.min(wanted, Math.floor(rows / 2)); k >= 1; k--) if (rows % k === 0) return k;
  return 0;
}

/**
 * max - min over axis 1 of [chunks, rows, channels], with its gradient written out (+dy at each
 * chunk's first arg max, -dy at its first arg min): the same subgradient as tfjs's Max/Min
 * gradients where there are no ties, several times faster on wasm (theirs broadcasts an equality
 * mask over the whole input).
 */
export function chunkRange(parts: tf.Tensor3D): tf.Tensor2D {
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const x = args[0] as tf.Tensor3D;
    const save = args[1] as tf.GradSaveFunc;
    const hi = tf.argMax(x, 1);
    const lo = tf.argMin(x, 1);
    save([hi, lo]);
    return {
      value: tf.sub(tf.max(x, 1), tf.min(x, 1)),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        tf.tidy(() => {
          const [h, l] = saved;
          const rows = x.shape[1];
          // [chunks, channels, rows] one-hots, scaled by dy, back to [chunks, rows, channels].
          // (int32 one-hots cast to float: tfjs-wasm's OneHot writes int bits under dtype float32.)
          const hot = (t: tf.Tensor) => tf.cast(tf.oneHot(t as tf.Tensor2D, rows), 'float32');
          const sel = tf.sub(hot(h), hot(l));
          return tf.transpose(tf.mul(sel, tf.expandDims(dy, 2)), [0, 2, 1]);
        }),
    };
  });
  return f(parts) as tf.Tensor2D;
}

export interface RangeBatchNormArgs {
  /**
   * Chunks the batch (rows = all positions but the channel axis) is split into (default 16; fewer
   * when the rows do not divide evenly, see `chunkCount`).
   */
  chunks?: number;
  /** Fraction of the running statistics kept at each training call (default 0.99, like tfjs BN). */
  momentum?: number;
  epsilon?: number;
  name?: string;
  trainable?: boolean;
}

/**
 * Range BatchNorm over the last (channel) axis: y = gamma * (x - mean) / (C(n) * mean chunk
 * range) + beta. Training normalises by the batch statistics and updates running ones; inference
 * uses the running ones. Note: the reference code updates running statistics with an inverted
 * momentum (it keeps `momentum` of the new value); here `momentum` is the kept fraction of the
 * old value, as in tf.layers.batchNormalization.
 */
export class RangeBatchNorm extends tf.layers.Layer {
  static className = 'FrugalRangeBatchNorm';
  readonly chunks: number;
  readonly momentum: number;
  readonly epsilon: number;
  private gamma: tf.LayerVariable | null = null;
  private beta: tf.LayerVariable | null = null;
  private movingMean: tf.LayerVariable | null = null;
  private movingScale: tf.LayerVariable | null = null;

  constructor(args: RangeBatchNormArgs = {}) {
    super(args);
    this.chunks = args.chunks ?? 16;
    this.momentum = args.momentum ?? 0.99;
    this.epsilon = args.epsilon ?? 1e-5;
    const where = `RangeBatchNorm '${this.name}'`;
    if (!Number.isInteger(this.chunks) || this.chunks < 1)
      throw new Error(`${where}: chunks must be a positive integer, got ${this.chunks}`);
    if (!(this.momentum >= 0 && this.momentum < 1))
      throw new Error(`${where}: momentum must be in [0, 1), got ${this.momentum}`);
    if (!(this.epsilon > 0)) throw new Error(`${where}: epsilon must be > 0, got ${this.epsilon}`);
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = inputShape as tf.Shape;
    const c = shape[shape.length - 1];
    if (c == null) throw new Error(`RangeBatchNorm '${this.name}': the channel axis must be known`);
    const [ones, zeros] = [tf.initializers.ones(), tf.initializers.zeros()];
    this.gamma = this.addWeight('gamma', [c], 'float32', ones);
    this.beta = this.addWeight('beta', [c], 'float32', zeros);
    this.movingMean = this.addWeight('moving_mean', [c], 'float32', zeros, undefined, false);
    this.movingScale = this.addWeight('moving_scale', [c], 'float32', ones, undefined, false);
    this.built = true;
  }

  /** Per-channel batch mean and Range-BN scale of `x` (rows split into `chunks`). */
  batchStats(x: tf.Tensor): { mean: tf.Tensor; scale: tf.Tensor } {
    return tf.tidy(() => {
      const c = x.shape[x.shape.length - 1];
      const rows = x.size / c;
      const chunks = chunkCount(rows, this.chunks);
      if (chunks < 1) {
        throw new Error(
          `RangeBatchNorm '${this.name}': ${rows} rows cannot be split into chunks of >= 2 rows`,
        );
      }
      const flat = x.reshape([rows, c]);
      const mean = tf.mean(flat, 0);
      const parts = tf.sub(flat, mean).reshape([chunks, rows / chunks, c]);
      const range = tf.mean(chunkRange(parts as tf.Tensor3D), 0);
      const scale = tf.add(tf.mul(range, rangeBnConstant(rows / chunks)), this.epsilon);
      return { mean, scale };
    });
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: { training?: boolean } = {}): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      let mean: tf.Tensor;
      let scale: tf.Tensor;
      if (kwargs.training) {
        ({ mean, scale } = this.batchStats(x));
        const m = this.momentum;
        const mm = this.movingMean as tf.LayerVariable;
        const ms = this.movingScale as tf.LayerVariable;
        const newMean = tf.add(tf.mul(mm.read(), m), tf.mul(mean, 1 - m));
        const newScale = tf.add(tf.mul(ms.read(), m), tf.mul(scale, 1 - m));
        mm.write(newMean);
        ms.write(newScale);
      } else {
        mean = (this.movingMean as tf.LayerVariable).read();
        scale = (this.movingScale as tf.LayerVariable).read();
      }
      const g = (this.gamma as tf.LayerVariable).read();
      const b = (this.beta as tf.LayerVariable).read();
      return tf.add(tf.mul(tf.div(tf.sub(x, mean), scale), g), b);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return configWith(super.getConfig(), this, ['chunks', 'momentum', 'epsilon']);
  }
}
tf.serialization.registerClass(RangeBatchNorm);
