import * as tf from '@tensorflow/tfjs';
import { type HostArrays, hostArrays } from './host-arrays.js';

export interface PoolGradAttrs {
  filterSize: [number, number] | number;
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/** The pooling geometry of a pool gradient, after checking that dy has the pooled shape. */
export function poolGradInfo(
  kernel: string,
  dy: tf.TensorInfo,
  input: tf.TensorInfo,
  attrs: PoolGradAttrs,
): tf.backend_util.Conv2DInfo {
  const info = tf.backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    attrs.filterSize,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  const { batchSize, inChannels: ch, outHeight, outWidth } = info;
  if (
    dy.shape[0] !== batchSize ||
    dy.shape[1] !== outHeight ||
    dy.shape[2] !== outWidth ||
    dy.shape[3] !== ch
  ) {
    throw new Error(
      `${kernel}: dy shape [${dy.shape}] does not match the pooled output [${batchSize},${outHeight},${outWidth},${ch}]`,
    );
  }
  return info;
}

/** What a pool gradient kernel works on: the geometry, dx (allocated, zeroed) and a view of dy. */
export interface PoolGradArrays {
  info: tf.backend_util.Conv2DInfo;
  /** For views of other inputs (outputs are all allocated). */
  host: HostArrays;
  out: tf.TensorInfo;
  dx: Float32Array;
  dy: Float32Array;
}

/** Checks a pool gradient's inputs (see `poolGradInfo`) and allocates its zeroed dx. */
export function poolGradArrays(
  kernel: string,
  backendName: string,
  backend: object,
  dy: tf.TensorInfo,
  input: tf.TensorInfo,
  attrs: PoolGradAttrs,
): PoolGradArrays {
  const info = poolGradInfo(kernel, dy, input, attrs);
  const host = hostArrays(backendName, backend);
  const out = host.output(input.shape);
  const dx = host.view(out);
  dx.fill(0);
  return { info, host, out, dx, dy: host.view(dy) };
}

/**
 * The in-bounds input range [start, end) of each output window along one axis: window `o` starts
 * at `o * stride - before` and covers `filter` positions, of which padding cuts those outside
 * [0, size). Returns start and end interleaved (2 per window).
 */
export function windowSpans(
  outSize: number,
  stride: number,
  before: number,
  filter: number,
  size: number,
): Int32Array {
  const spans = new Int32Array(2 * outSize);
  for (let o = 0; o < outSize; o++) {
    const first = o * stride - before;
    spans[2 * o] = Math.max(first, 0);
    spans[2 * o + 1] = Math.min(first + filter, size);
  }
  return spans;
}
