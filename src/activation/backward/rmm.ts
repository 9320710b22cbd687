import * as tf from '@tensorflow/tfjs';
import { makeRng, normal } from '../../engine/random.js';
import { scratch, tensorFromJs } from '../codec/js-memory.js';

/** Random projections for the randomized-matmul backward. */
export const RMM_KINDS = ['gaussian', 'rademacher', 'rows'] as const;
export type RmmKind = (typeof RMM_KINDS)[number];

/** Rows of the projection for `m` input rows at `ratio` (at least 1). */
export function projectionRows(m: number, ratio: number): number {
  return Math.max(1, Math.min(m, Math.round(ratio * m)));
}

/**
 * A random k x m matrix S with E[S^T S] = I, regenerated from its seed (it is never stored):
 * Gaussian entries N(0, 1/k), Rademacher entries +-1/sqrt(k), or k rows sampled uniformly with
 * replacement and scaled by sqrt(m/k).
 */
export function projectRows(t: tf.Tensor2D, kind: RmmKind, k: number, seed: number): tf.Tensor2D {
  const m = t.shape[0];
  const rng = makeRng(seed);
  return tf.tidy(() => {
    if (kind === 'rows') {
      const idx = new Int32Array(k);
      for (let i = 0; i < k; i++) idx[i] = Math.floor(rng() * m);
      return tf.mul(tf.gather(t, tf.tensor1d(idx, 'int32')), Math.sqrt(m / k)) as tf.Tensor2D;
    }
    const scale = 1 / Math.sqrt(k);
    const s = scratch(k * m * 4, () => {
      const v = new Float32Array(k * m);
      if (kind === 'gaussian') for (let i = 0; i < v.length; i++) v[i] = normal(rng) * scale;
      else for (let i = 0; i < v.length; i++) v[i] = rng() < 0.5 ? -scale : scale;
      return tensorFromJs(v, [k, m]) as tf.Tensor2D;
    });
    return tf.matMul(s, t);
  });
}
