import * as tf from '@tensorflow/tfjs';

/**
 * Stochastic rounding of gradients to `bits`-bit symmetric per-tensor codes (Banner et al.'s
 * 8-bit gradients): q = floor(g / s + u), u ~ U[0, 1), s = max|g| / (2^(bits-1) - 1). The
 * expectation of the dequantized value equals g (unbiased), so SGD on quantized gradients follows
 * the float gradient on average. `random` defaults to a seeded mulberry32 stream.
 */
export function stochasticRoundValues(
  g: ArrayLike<number>,
  bits: number,
  random: () => number,
): Float32Array {
  if (!Number.isInteger(bits) || bits < 2 || bits > 16)
    throw new Error(`gradient bits must be an integer in 2-16, got ${bits}`);
  let m = 0;
  for (let i = 0; i < g.length; i++) m = Math.max(m, Math.abs(g[i]));
  const out = new Float32Array(g.length);
  if (m === 0 || !Number.isFinite(m)) {
    for (let i = 0; i < g.length; i++) out[i] = g[i];
    return out;
  }
  const qmax = 2 ** (bits - 1) - 1;
  const s = m / qmax;
  for (let i = 0; i < g.length; i++) {
    const q = Math.min(qmax, Math.max(-qmax, Math.floor(g[i] / s + random())));
    out[i] = q * s;
  }
  return out;
}

/** The seeded mulberry32 stream (the one generator of engine/random, under its own name). */
export { makeRng as mulberry32 } from '../engine/random.js';

/**
 * Identity in the forward pass; the backward pass stochastically rounds the incoming gradient
 * to `bits` bits. Put it after a layer's output to quantize the gradient flowing into it. Eager
 * only (reads the gradient's values).
 */
export function quantizeGradient(x: tf.Tensor, bits: number, random: () => number): tf.Tensor {
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const input = args[0] as tf.Tensor;
    return {
      value: tf.clone(input),
      gradFunc: (dy: tf.Tensor) =>
        tf.tensor(stochasticRoundValues(dy.dataSync(), bits, random), dy.shape),
    };
  });
  return (f as (t: tf.Tensor) => tf.Tensor)(x);
}
