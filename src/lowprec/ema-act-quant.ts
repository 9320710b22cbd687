/**
 * Per-tensor activation fake-quant with an EMA range (the observer of QAT): affine codes
 * 0..2^bits - 1 over [lo, hi] with lo <= 0 <= hi and an integer zero point, so 0 stays exact.
 * Training calls update lo <- m lo + (1 - m) min(x), hi likewise (the first batch sets them),
 * until `freezeAfter` training calls; inference uses the stored range. Gradient: straight-through
 * inside the code range, 0 where the value was clipped. The range and the call count are
 * non-trainable weights, so they save, load and copy with the model. In tfjs ops apart from two
 * scalar reads per training call (the batch min and max).
 */
import * as tf from '@tensorflow/tfjs';
import { configWith } from '../models/layers/layer-config.js';

/** Scale and integer zero point of `bits`-bit affine codes over [min(lo, 0), max(hi, 0)]. */
export function emaQuantParams(
  lo: number,
  hi: number,
  bits: number,
): { scale: number; zero: number; levels: number } {
  const levels = 2 ** bits - 1;
  const l = Math.min(lo, 0);
  const h = Math.max(hi, 0);
  const scale = h > l ? (h - l) / levels : 1;
  return { scale, zero: Math.round(-l / scale), levels };
}

/**
 * Affine per-tensor fake quantization of `x` to `bits` over [lo, hi] with the STE:
 * y = (clip(round(x / s) + z, 0, L) - z) * s; dy/dx = 1 where round(x / s) + z lies in [0, L].
 */
export function affineRangeFakeQuant(
  x: tf.Tensor,
  lo: number,
  hi: number,
  bits: number,
): tf.Tensor {
  const { scale, zero, levels } = emaQuantParams(lo, hi, bits);
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const xa = args[0] as tf.Tensor;
    const save = args[1] as tf.GradSaveFunc;
    const q = tf.tidy(() => tf.add(tf.round(tf.div(xa, scale)), zero));
    const inside = tf.tidy(() =>
      tf.cast(tf.logicalAnd(tf.greaterEqual(q, 0), tf.lessEqual(q, levels)), 'float32'),
    );
    save([inside]);
    const value = tf.tidy(() => tf.mul(tf.sub(tf.clipByValue(q, 0, levels), zero), scale));
    q.dispose();
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(dy, saved[0]),
    };
  });
  return (f as (t: tf.Tensor) => tf.Tensor)(x);
}

export interface EmaActQuantArgs {
  bits: number;
  /** Kept fraction of the old range per training call, in [0, 1) (default 0.9). */
  momentum?: number;
  /** Training calls after which the range stops moving (null: never). */
  freezeAfter?: number | null;
  name?: string;
  trainable?: boolean;
  inputShape?: tf.Shape;
  batchInputShape?: tf.Shape;
}

export class EmaActQuant extends tf.layers.Layer {
  static className = 'FrugalEmaActQuant';
  readonly bits: number;
  readonly momentum: number;
  readonly freezeAfter: number | null;
  private state: tf.LayerVariable | null = null;

  constructor(args: EmaActQuantArgs) {
    super({
      name: args.name,
      trainable: args.trainable,
      inputShape: args.inputShape,
      batchInputShape: args.batchInputShape,
    });
    const where = `EmaActQuant '${this.name}'`;
    if (!Number.isInteger(args.bits) || args.bits < 2 || args.bits > 8)
      throw new Error(`${where}: bits must be an integer in 2-8, got ${String(args.bits)}`);
    const momentum = args.momentum ?? 0.9;
    if (typeof momentum !== 'number' || !(momentum >= 0 && momentum < 1))
      throw new Error(`${where}: momentum must be in [0, 1), got ${String(args.momentum)}`);
    const freeze = args.freezeAfter ?? null;
    if (freeze !== null && (!Number.isInteger(freeze) || freeze < 1))
      throw new Error(
        `${where}: freezeAfter must be a positive integer or null, got ${String(freeze)}`,
      );
    this.bits = args.bits;
    this.momentum = momentum;
    this.freezeAfter = freeze;
  }

  override build(): void {
    // [lo, hi, training calls observed]
    this.state = this.addWeight('range', [3], 'float32', tf.initializers.zeros(), undefined, false);
    this.built = true;
  }

  /** The stored range and the number of training calls that moved it. */
  range(): { lo: number; hi: number; calls: number } {
    const [lo, hi, calls] = (this.state as tf.LayerVariable).read().dataSync();
    return { lo, hi, calls };
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: { training?: boolean } = {}): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    let { lo, hi, calls } = this.range();
    if (kwargs.training && (this.freezeAfter === null || calls < this.freezeAfter)) {
      const [bmin, bmax] = tf.tidy(() => tf.stack([tf.min(x), tf.max(x)]).dataSync());
      if (calls === 0) {
        lo = bmin;
        hi = bmax;
      } else {
        lo = this.momentum * lo + (1 - this.momentum) * bmin;
        hi = this.momentum * hi + (1 - this.momentum) * bmax;
      }
      calls++;
      const next = tf.tensor1d([lo, hi, calls]);
      (this.state as tf.LayerVariable).write(next);
      next.dispose();
    } else if (calls === 0) {
      throw new Error(
        `EmaActQuant '${this.name}': no range observed yet (run a training batch first)`,
      );
    }
    return tf.tidy(() => affineRangeFakeQuant(x, lo, hi, this.bits));
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return configWith(super.getConfig(), this, ['bits', 'momentum', 'freezeAfter']);
  }
}
tf.serialization.registerClass(EmaActQuant);
