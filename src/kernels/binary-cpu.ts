import * as tf from '@tensorflow/tfjs';
import { hostArrays } from './host-arrays.js';

/**
 * One loop per op (a shared loop calling an `op` callback would be a megamorphic call V8 cannot
 * inline). `m` is the small operand's length: 1 for a scalar, y.length for the same shape.
 * `swap` puts the small operand on the left.
 */
type Loop = (y: Float32Array, u: Float32Array, v: Float32Array, swap: boolean) => void;

const add: Loop = (y, u, v) => {
  const m = v.length;
  for (let i = 0; i < y.length; i += m) for (let j = 0; j < m; j++) y[i + j] = u[i + j] + v[j];
};
const multiply: Loop = (y, u, v) => {
  const m = v.length;
  if (m === 1) {
    const s = v[0];
    for (let i = 0; i < y.length; i++) y[i] = u[i] * s;
    return;
  }
  for (let i = 0; i < y.length; i += m) for (let j = 0; j < m; j++) y[i + j] = u[i + j] * v[j];
};
const sub: Loop = (y, u, v, swap) => {
  const m = v.length;
  if (swap) {
    for (let i = 0; i < y.length; i += m) for (let j = 0; j < m; j++) y[i + j] = v[j] - u[i + j];
  } else {
    for (let i = 0; i < y.length; i += m) for (let j = 0; j < m; j++) y[i + j] = u[i + j] - v[j];
  }
};
const realDiv: Loop = (y, u, v, swap) => {
  const m = v.length;
  if (swap) {
    for (let i = 0; i < y.length; i += m) for (let j = 0; j < m; j++) y[i + j] = v[j] / u[i + j];
  } else {
    for (let i = 0; i < y.length; i += m) for (let j = 0; j < m; j++) y[i + j] = u[i + j] / v[j];
  }
};

export const BINARY_OPS: Record<string, Loop> = {
  Add: add,
  Sub: sub,
  Multiply: multiply,
  RealDiv: realDiv,
};

/** How `small` broadcasts against `big`: 'same' shape, a 'scalar', or a 'suffix' of big's shape. */
function broadcastKind(big: number[], small: number[]): 'same' | 'scalar' | 'suffix' | undefined {
  const sizeSmall = tf.util.sizeFromShape(small);
  if (tf.util.arraysEqual(big, small)) return 'same';
  if (sizeSmall === 1 && small.length <= big.length) return 'scalar';
  const tail = small.slice(small.findIndex((d) => d !== 1));
  const offset = big.length - tail.length;
  if (offset >= 0 && tail.every((d, i) => d === big[offset + i])) return 'suffix';
  return undefined;
}

/**
 * Elementwise Add/Sub/Multiply/RealDiv of float32 tensors on the cpu backend when one operand is
 * the other's shape, a scalar, or a trailing-dims broadcast (a bias): one flat loop. Stock cpu
 * computes broadcast indices per element (Adam's scalar products over a 1.2M-weight dense
 * kernel take ~100 ms each there). Returns undefined for any other case.
 */
export function binaryCpu(
  name: string,
  backend: object,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
): tf.TensorInfo | undefined {
  const op = BINARY_OPS[name];
  if (!op || a.dtype !== 'float32' || b.dtype !== 'float32') return undefined;
  const aBig = tf.util.sizeFromShape(a.shape) >= tf.util.sizeFromShape(b.shape);
  const [big, small] = aBig ? [a, b] : [b, a];
  const kind = broadcastKind(big.shape, small.shape);
  if (kind === undefined || small.shape.length > big.shape.length) return undefined;
  const host = hostArrays('cpu', backend);
  const out = host.output(big.shape);
  const y = host.view(out);
  const u = host.view(big);
  const v = host.view(small);
  op(y, u, v, !aBig);
  return out;
}
