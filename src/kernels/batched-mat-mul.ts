import * as tf from '@tensorflow/tfjs';
import { withKernelScope } from './kernel-scope.js';

/** Batch size of a matmul operand: the product of all but its last two axes. */
export function matMulBatch(shape: number[]): number {
  return tf.util.sizeFromShape(shape.slice(0, -2));
}

/**
 * T small matmuls ([..., M, K] x [..., K, N], attention's per-head products) as ONE depthwise
 * convolution, which XNNPACK runs well: with the T products as channels,
 *
 *   x[i, 0, p, t] = a[t, i, p]   (input [M, 1, K, T])
 *   w[0, p, t, j] = b[t, p, j]   (filter [1, K, T, N], channel multiplier N)
 *   y[i, 0, 0, t*N + j] = sum_p x[i, 0, p, t] * w[0, p, t, j] = (a b)[t, i, j]
 *
 * Stock wasm runs batched matmuls through a naive loop (~0.5 GFLOP/s; this is ~2.5x faster
 * including the transposes). Both operands must have the same batch dims.
 */
export function batchedMatMulAsDepthwise(
  backendName: string,
  backend: object,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
): tf.TensorInfo {
  const ar = a.shape.length;
  const br = b.shape.length;
  const m = transposeA ? a.shape[ar - 1] : a.shape[ar - 2];
  const k = transposeA ? a.shape[ar - 2] : a.shape[ar - 1];
  const kb = transposeB ? b.shape[br - 1] : b.shape[br - 2];
  const n = transposeB ? b.shape[br - 2] : b.shape[br - 1];
  const t = matMulBatch(a.shape);
  if (k !== kb || t !== matMulBatch(b.shape)) {
    throw new Error(`BatchMatMul: cannot multiply [${a.shape}] by [${b.shape}]`);
  }
  return withKernelScope(backendName, backend, (scope) => {
    const a3 = scope.reshape(a, [t, a.shape[ar - 2], a.shape[ar - 1]]);
    const b3 = scope.reshape(b, [t, b.shape[br - 2], b.shape[br - 1]]);
    // a3 is [T, M, K] (or [T, K, M] when transposed): bring it to [M, K, T].
    const x = scope.reshape(scope.transpose(a3, transposeA ? [2, 1, 0] : [1, 2, 0]), [m, 1, k, t]);
    // b3 is [T, K, N] (or [T, N, K]): bring it to [K, T, N].
    const w = scope.reshape(scope.transpose(b3, transposeB ? [2, 0, 1] : [1, 0, 2]), [1, k, t, n]);
    const y = scope.run(
      'DepthwiseConv2dNative',
      { x, filter: w },
      { strides: [1, 1], dilations: [1, 1], pad: 'valid', dataFormat: 'NHWC' },
    );
    const ymt = scope.transpose(scope.reshape(y, [m, t, n]), [1, 0, 2]);
    return scope.reshape(ymt, [...a.shape.slice(0, -2), m, n]);
  });
}
