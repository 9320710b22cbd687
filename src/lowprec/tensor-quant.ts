/**
 * Per-tensor quantizers of 8-bit training (Banner et al., "Scalable methods for 8-bit training"),
 * in tfjs ops (no reads to the CPU, so they run on any backend). Simulated: the values are
 * float32 tensors that lie on the low-bit grid.
 */
import * as tf from '@tensorflow/tfjs';

/**
 * Affine (uint) per-tensor fake quantization of `x` to `bits`: the range [min(x, 0), max(x, 0)]
 * of this tensor maps to codes 0..2^bits - 1 with an integer zero point, so 0 is exact (ReLU
 * zeros and padding stay 0). Returns (code - zero) * scale. A constant-zero tensor is returned
 * as zeros. Forward only: wrap it in a straight-through estimator to train through it.
 */
export function affineFakeQuant(x: tf.Tensor, bits: number): tf.Tensor {
  return tf.tidy(() => {
    const levels = 2 ** bits - 1;
    const lo = tf.minimum(tf.min(x), 0);
    const hi = tf.maximum(tf.max(x), 0);
    // A zero range (all zeros) gets scale 1: every code is then the zero point.
    const span = tf.sub(hi, lo);
    const scale = tf.where(tf.greater(span, 0), tf.div(span, levels), tf.onesLike(span));
    const zero = tf.round(tf.div(tf.neg(lo), scale));
    const codes = tf.clipByValue(tf.add(tf.round(tf.div(x, scale)), zero), 0, levels);
    return tf.mul(tf.sub(codes, zero), scale);
  });
}

/**
 * Stochastic rounding of a gradient to `bits`-bit symmetric per-tensor codes, in tfjs ops:
 * q = clip(floor(g / s + u), -qmax, qmax), u ~ U[0, 1) drawn with `seed`, s = max|g| / qmax,
 * qmax = 2^(bits-1) - 1. E[q s] = g (unbiased; the clip never binds since |g / s| <= qmax).
 * A zero gradient stays zero. The tensor twin of `stochasticRoundValues`.
 */
export function stochasticRoundTensor(g: tf.Tensor, bits: number, seed: number): tf.Tensor {
  return tf.tidy(() => {
    const qmax = 2 ** (bits - 1) - 1;
    const m = tf.max(tf.abs(g));
    const s = tf.where(tf.greater(m, 0), tf.div(m, qmax), tf.onesLike(m));
    const u = tf.randomUniform(g.shape, 0, 1, 'float32', seed);
    const q = tf.clipByValue(tf.floor(tf.add(tf.div(g, s), u)), -qmax, qmax);
    return tf.mul(q, s);
  });
}
