import * as tf from '@tensorflow/tfjs';
import { useFastKernels, useStockKernels } from '../../src/kernels/index.js';
import { useBackend } from '../helpers.js';
import { seededNormals } from '../random-values.js';

/** Seeded standard-normal values. */
export function randomValues(size: number, seed: number): Float32Array {
  return Float32Array.from(seededNormals(size, seed));
}

/** A seeded standard-normal input of `shape`, as `gradsOn` takes it. */
export function randomInput(
  shape: number[],
  seed: number,
): { values: Float32Array; shape: number[] } {
  return {
    values: randomValues(
      shape.reduce((p, q) => p * q, 1),
      seed,
    ),
    shape,
  };
}

/** Gradients as plain arrays, computed on `backend` with fast or stock kernels. */
export async function gradsOn(
  backend: string,
  kernels: 'fast' | 'stock',
  inputs: { values: Float32Array; shape: number[] }[],
  f: (...xs: tf.Tensor[]) => tf.Scalar,
): Promise<Float32Array[]> {
  await useBackend(backend);
  if (kernels === 'fast') useFastKernels();
  else useStockKernels();
  try {
    return tf.tidy(() => {
      const xs = inputs.map((i) => tf.tensor(i.values, i.shape));
      return tf
        .grads(f)(xs)
        .map((g) => g.dataSync() as Float32Array);
    });
  } finally {
    useStockKernels();
  }
}

/** Largest |a - b| relative to the largest |b| (1 when b is all zeros). */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length mismatch ${a.length} vs ${b.length}`);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / Math.max(scale, 1);
}

/**
 * A square filter [K,K,C,F] with zeros spread between its taps for dilation d: the undilated
 * filter [(K-1)*dh+1, (K-1)*dw+1, C, F] whose convolution equals the dilated one, which stock
 * tfjs can differentiate.
 */
export function spreadFilter(b: tf.Tensor, d: number | [number, number]): tf.Tensor4D {
  const [k, , c, f] = b.shape;
  const [dh, dw] = typeof d === 'number' ? [d, d] : d;
  const eh = (k - 1) * dh + 1;
  const ew = (k - 1) * dw + 1;
  const taps = tf.buffer([eh, ew, k * k], 'float32');
  for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) taps.set(1, i * dh, j * dw, i * k + j);
  return tf
    .matMul(taps.toTensor().reshape([eh * ew, k * k]), b.reshape([k * k, c * f]))
    .reshape([eh, ew, c, f]) as tf.Tensor4D;
}
