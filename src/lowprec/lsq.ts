/**
 * Learned step size quantization (LSQ, Esser et al., ICLR 2020) of activations: a per-tensor step
 * s, trained with the network. Forward: v_hat = round(clip(v / s, Qn, Qp)) * s. Backward:
 * dv_hat/dv = 1 where Qn < v / s < Qp, else 0 (straight-through inside the range); dv_hat/ds =
 * round(v / s) - v / s inside, Qn below, Qp above, times the gradient scale g = 1 / sqrt(N * Qp)
 * (N: elements per sample). Unsigned codes 0..2^b - 1, or signed -2^(b-1)..2^(b-1) - 1. In tfjs
 * ops (no reads to the CPU), so it runs on any backend.
 */
import * as tf from '@tensorflow/tfjs';

/** Code range [Qn, Qp] of `bits`-bit unsigned or signed codes. */
export function lsqCodeRange(bits: number, signed: boolean): [number, number] {
  return signed ? [-(2 ** (bits - 1)), 2 ** (bits - 1) - 1] : [0, 2 ** bits - 1];
}

/** LSQ fake quantization of `x` with step `s` (a scalar tensor, differentiable). */
export function lsqFakeQuant(
  x: tf.Tensor,
  s: tf.Tensor,
  bits: number,
  signed: boolean,
  gradScale: number,
): tf.Tensor {
  const [qn, qp] = lsqCodeRange(bits, signed);
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xa, sa] = args as tf.Tensor[];
    const save = args[2] as tf.GradSaveFunc;
    save([xa, sa]);
    const value = tf.tidy(() => tf.mul(tf.round(tf.clipByValue(tf.div(xa, sa), qn, qp)), sa));
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        tf.tidy(() => {
          const [xs, ss] = saved;
          const r = tf.div(xs, ss);
          const below = tf.lessEqual(r, qn);
          const above = tf.greaterEqual(r, qp);
          const inside = tf.logicalNot(tf.logicalOr(below, above));
          const dx = tf.mul(dy, tf.cast(inside, 'float32'));
          const local = tf.where(
            below,
            tf.fill(r.shape, qn),
            tf.where(above, tf.fill(r.shape, qp), tf.sub(tf.round(r), r)),
          );
          const ds = tf.reshape(tf.mul(tf.sum(tf.mul(dy, local)), gradScale), ss.shape);
          return [dx, ds];
        }),
    };
  });
  return f(x, s);
}

export interface LsqQuantArgs {
  bits: number;
  /** Signed codes; null: decided from the first training batch (signed if it has negatives). */
  signed?: boolean | null;
  name?: string;
  trainable?: boolean;
  inputShape?: tf.Shape;
  batchInputShape?: tf.Shape;
}

/**
 * A layer fake-quantizing its input with a learned per-tensor step (LSQ). The step is set on the
 * first training call to 2 mean|x| / sqrt(Qp), as the paper does; calling it for inference
 * before any training call is an error. Eager for that first call (reads the batch once).
 */
export class LsqQuant extends tf.layers.Layer {
  static className = 'FrugalLsqQuant';
  readonly bits: number;
  signed: boolean | null;
  private step: tf.LayerVariable | null = null;

  constructor(args: LsqQuantArgs) {
    super({
      name: args.name,
      trainable: args.trainable,
      inputShape: args.inputShape,
      batchInputShape: args.batchInputShape,
    });
    if (!Number.isInteger(args.bits) || args.bits < 2 || args.bits > 8)
      throw new Error(
        `LsqQuant '${this.name}': bits must be an integer in 2-8, got ${String(args.bits)}`,
      );
    this.bits = args.bits;
    this.signed = args.signed ?? null;
  }

  override build(): void {
    this.step = this.addWeight('step', [], 'float32', tf.initializers.zeros());
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: { training?: boolean } = {}): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    const step = this.step as tf.LayerVariable;
    if (this.signed === null) {
      if (!kwargs.training)
        throw new Error(
          `LsqQuant '${this.name}': the step is not set yet (run a training batch first)`,
        );
      this.signed = tf.tidy(() => tf.min(x).dataSync()[0] < 0);
      const [, qp] = lsqCodeRange(this.bits, this.signed);
      const init = tf.tidy(() =>
        tf.maximum(tf.div(tf.mul(tf.mean(tf.abs(x)), 2), Math.sqrt(qp)), 1e-8),
      );
      step.write(init);
      init.dispose();
    }
    return tf.tidy(() => {
      const [, qp] = lsqCodeRange(this.bits, this.signed as boolean);
      const perSample = x.size / (x.shape[0] ?? 1);
      return lsqFakeQuant(
        x,
        step.read(),
        this.bits,
        this.signed as boolean,
        1 / Math.sqrt(perSample * qp),
      );
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), bits: this.bits, signed: this.signed };
  }
}
tf.serialization.registerClass(LsqQuant);
