import type * as tf from '@tensorflow/tfjs';
import { hostArrays } from './host-arrays.js';

/** frugal's kernel for one part of FusedBatchNorm's gradient (attr `part`). */
export const FAST_BATCH_NORM_GRAD = 'FrugalBatchNormGrad';
export const BATCH_NORM_PARTS = ['x', 'mean', 'variance', 'scale', 'offset'] as const;
export type BatchNormPart = (typeof BATCH_NORM_PARTS)[number];

/**
 * One derivative of y = (x - mean) * scale / sqrt(variance + eps) + offset, as one pass over x
 * and dy (the formulas of tfjs's FusedBatchNorm gradient):
 *
 *   dx = dy * scale * r           dmean = -sum(dy * scale * r)        r = 1/sqrt(variance + eps)
 *   dscale = sum(dy * (x - mean) * r)    dvariance = sum(dy * scale * (x - mean)) * -r^3/2
 *   doffset = sum(dy)
 *
 * Each parameter is per channel (length C, the last axis; sums run over the other axes) or has
 * x's size (elementwise, layer-norm style). Stock tfjs builds these
 * from ~15 broadcasting ops and a tile.
 */
export function batchNormGradPart(
  backendName: string,
  backend: object,
  inputs: tf.NamedTensorInfoMap,
  part: BatchNormPart,
  epsilon: number,
): tf.TensorInfo {
  const { x, dy, mean, variance, scale } = inputs as Record<string, tf.TensorInfo>;
  const target = part === 'x' ? x : inputs[part];
  if (target === undefined) throw new Error(`${FAST_BATCH_NORM_GRAD}: no '${part}' input`);
  const host = hostArrays(backendName, backend);
  const out = host.output(target.shape);
  const y = host.view(out);
  const xv = host.view(x);
  const g = host.view(dy);
  const mv = host.view(mean);
  const vv = host.view(variance);
  const sv = host.view(scale);
  const n = xv.length;
  const ch = channelsOf(x);
  if ([mv, vv, sv].every((p) => p.length === ch)) {
    if (part === 'x') {
      const k = Float64Array.from(vv, (v, c) => sv[c] / Math.sqrt(v + epsilon));
      for (let i = 0; i < n; i += ch) for (let c = 0; c < ch; c++) y[i + c] = g[i + c] * k[c];
      return out;
    }
    if (y.length === ch) {
      perChannel(part, y, xv, g, mv, vv, sv, epsilon);
      return out;
    }
  }
  const full = y.length === n;
  const acc = new Float64Array(full ? 0 : y.length);
  for (let i = 0, c = 0; i < n; i++, c = c + 1 === ch ? 0 : c + 1) {
    const r = 1 / Math.sqrt((vv.length === n ? vv[i] : vv[c]) + epsilon);
    const s = sv.length === n ? sv[i] : sv[c];
    let v: number;
    switch (part) {
      case 'x':
        v = g[i] * s * r;
        break;
      case 'mean':
        v = -g[i] * s * r;
        break;
      case 'variance':
        v = g[i] * s * (xv[i] - (mv.length === n ? mv[i] : mv[c])) * -0.5 * r * r * r;
        break;
      case 'scale':
        v = g[i] * (xv[i] - (mv.length === n ? mv[i] : mv[c])) * r;
        break;
      default:
        v = g[i];
    }
    if (full) y[i] = v;
    else acc[c] += v;
  }
  if (!full) y.set(acc);
  return out;
}

/** The batch-norm case (every parameter per channel, a per-channel result): channel-major sums. */
function perChannel(
  part: BatchNormPart,
  y: Float32Array,
  x: Float32Array,
  g: Float32Array,
  mean: Float32Array,
  variance: Float32Array,
  scale: Float32Array,
  epsilon: number,
): void {
  const ch = mean.length;
  const n = x.length;
  const r = Float64Array.from(variance, (v) => 1 / Math.sqrt(v + epsilon));
  const sumDy = new Float64Array(ch);
  const sumDyXc = new Float64Array(ch);
  if (part === 'mean' || part === 'offset') {
    for (let i = 0; i < n; i += ch) for (let c = 0; c < ch; c++) sumDy[c] += g[i + c];
  } else {
    for (let i = 0; i < n; i += ch) {
      for (let c = 0; c < ch; c++) sumDyXc[c] += g[i + c] * (x[i + c] - mean[c]);
    }
  }
  for (let c = 0; c < ch; c++) {
    if (part === 'mean') y[c] = -sumDy[c] * scale[c] * r[c];
    else if (part === 'offset') y[c] = sumDy[c];
    else if (part === 'scale') y[c] = sumDyXc[c] * r[c];
    else y[c] = sumDyXc[c] * scale[c] * -0.5 * r[c] * r[c] * r[c];
  }
}

function channelsOf(x: tf.TensorInfo): number {
  return x.shape[x.shape.length - 1];
}

/** Whether every parameter is per channel or full size (what the fast kernel handles). */
export function batchNormShapesSupported(x: tf.Tensor, params: (tf.Tensor | undefined)[]): boolean {
  const ch = x.shape[x.rank - 1];
  return (
    x.dtype === 'float32' &&
    params.every((p) => p?.dtype === 'float32' && (p.size === ch || p.size === x.size))
  );
}
