/**
 * A Dense/Conv2D followed by batch norm, trained for QAT with "freeze then fold" (Jacob et al.
 * 2018; Krishnamoorthi 2018, section 3.2). The stored weights are the float kernel (and bias)
 * and the BN parameters; every call fake-quantizes the *folded* kernel W * gamma / sigma, where
 * sigma = sqrt(moving variance + eps), so training sees the very grid the folded model stores.
 * - Training, before the freeze: the float product gives the batch mean / variance (which also
 *   update the moving statistics, tfjs's rule m <- momentum m + (1 - momentum) batch); the output
 *   is conv(x, Q(W gamma / sigma)) * sigma / sigma_B + beta + gamma (b - mean_B) / sigma_B, i.e.
 *   batch norm with batch statistics (the moving sigma of the folded kernel corrected away).
 * - After `freezeAfter` training calls, and at inference: the moving statistics are frozen and
 *   the output is the folded layer conv(x, Q(W gamma / sigma)) + beta + gamma (b - mean) / sigma,
 *   which is what `convertQat` stores (same tensors, so the same codes and outputs).
 * Eager (reads the kernel and the step counter).
 */
import * as tf from '@tensorflow/tfjs';
import { foldablePairs } from '../compress/quantize/fold-bn.js';
import { configWith } from '../models/layers/layer-config.js';
import { QatLayer, type QatLayerArgs } from './qat-layers.js';

export interface QatBnLayerArgs extends QatLayerArgs {
  epsilon?: number;
  /** Kept fraction of the moving statistics per training call (tfjs's; default 0.99). */
  momentum?: number;
  /** Training calls after which batch statistics are frozen (null: never before convert). */
  freezeAfter?: number | null;
  /** The batch norm has gamma / beta (trainable); without, they are fixed 1 / 0. */
  scale?: boolean;
  center?: boolean;
}

export class QatBnLayer extends QatLayer {
  static override className = 'FrugalQatBnLayer';
  readonly epsilon: number;
  readonly momentum: number;
  readonly freezeAfter: number | null;
  readonly scale: boolean;
  readonly center: boolean;
  private gamma: tf.LayerVariable | null = null;
  private beta: tf.LayerVariable | null = null;
  private movingMean: tf.LayerVariable | null = null;
  private movingVariance: tf.LayerVariable | null = null;
  private calls: tf.LayerVariable | null = null;

  constructor(args: QatBnLayerArgs) {
    super({ ...args, activation: 'linear' });
    const where = `QatBnLayer '${this.name}'`;
    if ((args.activation ?? 'linear') !== 'linear')
      throw new Error(`${where}: the layer before batch norm must be linear`);
    const eps = args.epsilon ?? 1e-3;
    if (!(eps > 0)) throw new Error(`${where}: epsilon must be > 0, got ${String(eps)}`);
    const m = args.momentum ?? 0.99;
    if (typeof m !== 'number' || !(m >= 0 && m < 1))
      throw new Error(`${where}: momentum must be in [0, 1), got ${String(m)}`);
    const f = args.freezeAfter ?? null;
    if (f !== null && (!Number.isInteger(f) || f < 0))
      throw new Error(`${where}: freezeAfter must be a non-negative integer or null, got ${f}`);
    this.epsilon = eps;
    this.momentum = m;
    this.freezeAfter = f;
    this.scale = args.scale ?? true;
    this.center = args.center ?? true;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    super.build(inputShape);
    const c = [this.outChannels];
    const ones = tf.initializers.ones();
    const zeros = tf.initializers.zeros();
    this.gamma = this.addWeight('gamma', c, 'float32', ones, undefined, this.scale);
    this.beta = this.addWeight('beta', c, 'float32', zeros, undefined, this.center);
    this.movingMean = this.addWeight('moving_mean', c, 'float32', zeros, undefined, false);
    this.movingVariance = this.addWeight('moving_variance', c, 'float32', ones, undefined, false);
    this.calls = this.addWeight('calls', [1], 'float32', zeros, undefined, false);
    this.built = true;
  }

  /** Training calls so far (the ones that used batch statistics, up to `freezeAfter`). */
  trainingCalls(): number {
    return (this.calls as tf.LayerVariable).read().dataSync()[0];
  }

  private sigma(): tf.Tensor {
    return tf.sqrt(tf.add((this.movingVariance as tf.LayerVariable).read(), this.epsilon));
  }

  /** W * gamma / sqrt(moving variance + eps), float. */
  foldedKernel(): tf.Tensor {
    return tf.tidy(() =>
      tf.mul(
        (this.kernel as tf.LayerVariable).read(),
        tf.div((this.gamma as tf.LayerVariable).read(), this.sigma()),
      ),
    );
  }

  /** beta + gamma * (b - moving mean) / sqrt(moving variance + eps). */
  foldedBias(): tf.Tensor {
    return tf.tidy(() => {
      const b = this.bias ? this.bias.read() : tf.zeros([this.outChannels]);
      const g = (this.gamma as tf.LayerVariable).read();
      const centred = tf.sub(b, (this.movingMean as tf.LayerVariable).read());
      return tf.add(
        (this.beta as tf.LayerVariable).read(),
        tf.div(tf.mul(g, centred), this.sigma()),
      );
    });
  }

  /** The folded kernel fake-quantized (what training and the converted layer use). */
  override quantizedKernel(): tf.Tensor {
    return tf.tidy(() => this.fakeQuantKernel(this.foldedKernel()));
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: { training?: boolean } = {}): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    const calls = this.trainingCalls();
    const batchStats =
      kwargs.training === true && (this.freezeAfter === null || calls < this.freezeAfter);
    if (!batchStats)
      return tf.tidy(() => tf.add(this.product(x, this.quantizedKernel()), this.foldedBias()));
    return tf.tidy(() => {
      const k = (this.kernel as tf.LayerVariable).read();
      let yf = this.product(x, k);
      if (this.bias) yf = tf.add(yf, this.bias.read());
      const axes = yf.shape.slice(0, -1).map((_, i) => i);
      const { mean, variance } = tf.moments(yf, axes);
      // moving statistics first, so the fold's sigma is the updated one (they are not trained:
      // the gradient does not flow through the variable reads)
      const m = this.momentum;
      const mm = this.movingMean as tf.LayerVariable;
      const mv = this.movingVariance as tf.LayerVariable;
      mm.write(tf.add(tf.mul(mm.read(), m), tf.mul(mean, 1 - m)));
      mv.write(tf.add(tf.mul(mv.read(), m), tf.mul(variance, 1 - m)));
      (this.calls as tf.LayerVariable).write(tf.tensor1d([calls + 1]));
      const sigmaB = tf.sqrt(tf.add(variance, this.epsilon));
      const g = (this.gamma as tf.LayerVariable).read();
      const b = this.bias ? this.bias.read() : tf.zeros([this.outChannels]);
      const y = tf.mul(this.product(x, this.quantizedKernel()), tf.div(this.sigma(), sigmaB));
      const shift = tf.add(
        (this.beta as tf.LayerVariable).read(),
        tf.div(tf.mul(g, tf.sub(b, mean)), sigmaB),
      );
      return tf.add(y, shift);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return configWith(super.getConfig(), this, [
      'epsilon',
      'momentum',
      'freezeAfter',
      'scale',
      'center',
    ]);
  }
}
tf.serialization.registerClass(QatBnLayer);

/** A conv/dense -> batch-norm pair QAT trains as one `QatBnLayer`. */
export interface QatBnPair {
  batchNorm: string;
  /** QatBnLayer config fields taken from the batch norm. */
  config: Record<string, unknown>;
  /** gamma, beta, moving mean, moving variance, call counter (owned by the caller). */
  weights: tf.Tensor[];
}

/**
 * The foldable pairs of `model` (compress's rule: a linear Conv2D/Dense read only by a
 * last-axis batch norm), keyed by the producer's name, for freeze-then-fold QAT.
 */
export function qatBnPairs(
  model: tf.LayersModel,
  freezeAfter: number | null,
): Map<string, QatBnPair> {
  const out = new Map<string, QatBnPair>();
  for (const p of foldablePairs(model)) {
    const bn = model.getLayer(p.batchNorm);
    const cfg = bn.getConfig();
    const w = bn.getWeights();
    const c = w[w.length - 1].shape[0];
    let i = 0;
    const scale = cfg.scale !== false;
    const center = cfg.center !== false;
    const gamma = scale ? w[i++].clone() : tf.ones([c]);
    const beta = center ? w[i++].clone() : tf.zeros([c]);
    out.set(p.producer, {
      batchNorm: p.batchNorm,
      config: {
        epsilon: cfg.epsilon,
        momentum: cfg.momentum,
        freezeAfter,
        scale,
        center,
      },
      weights: [gamma, beta, w[i].clone(), w[i + 1].clone(), tf.zeros([1])],
    });
  }
  return out;
}
