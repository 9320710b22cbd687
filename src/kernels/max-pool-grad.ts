import type * as tf from '@tensorflow/tfjs';
import { tfjsHeapKernels } from '../wasm/tfjs-heap.js';
import { heapOffsets, hostArrays } from './host-arrays.js';
import { type PoolGradAttrs, poolGradArrays, poolGradInfo } from './pool-grad-info.js';

/** Attributes of MaxPoolGrad / AvgPoolGrad (kept under this name for existing imports). */
export type MaxPoolGradAttrs = PoolGradAttrs;

/**
 * Gradient of an NHWC MaxPool as one pass of plain loops: each window sends dy to its first
 * maximum in scan order, as tfjs's cpu backend does (a value that is not above -Infinity, NaN
 * included, is never a maximum). Per window the in-bounds taps' offsets are listed once, then
 * each channel compares its taps in locals; windows of exactly 4 taps (2x2 pooling, the common
 * case) take an unrolled copy of that loop, about 3x faster. Stock wasm runs this kernel about
 * 10x slower.
 */
export function maxPoolGrad(
  backendName: string,
  backend: object,
  dy: tf.TensorInfo,
  input: tf.TensorInfo,
  attrs: MaxPoolGradAttrs,
): tf.TensorInfo {
  if (backendName === 'wasm') {
    const out = maxPoolGrad2x2Simd(backend, dy, input, attrs);
    if (out) return out;
  }
  const arrays = poolGradArrays('MaxPoolGrad', backendName, backend, dy, input, attrs);
  const { info, out, dx, dy: g } = arrays;
  const { batchSize, inHeight, inWidth, inChannels: ch, outHeight, outWidth } = info;
  const x = arrays.host.view(input);
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
  const { effectiveFilterHeight: fh, effectiveFilterWidth: fw } = info;
  const { top, left } = info.padInfo;
  const taps = new Int32Array(Math.ceil(fh / dh) * Math.ceil(fw / dw));
  let o = 0;
  for (let b = 0; b < batchSize; b++) {
    const xBatch = b * inHeight * inWidth * ch;
    for (let oh = 0; oh < outHeight; oh++) {
      const h0 = oh * sh - top;
      for (let ow = 0; ow < outWidth; ow++, o += ch) {
        const w0 = ow * sw - left;
        let count = 0;
        for (let kh = 0; kh < fh; kh += dh) {
          const h = h0 + kh;
          if (h < 0 || h >= inHeight) continue;
          for (let kw = 0; kw < fw; kw += dw) {
            const w = w0 + kw;
            if (w < 0 || w >= inWidth) continue;
            taps[count++] = xBatch + (h * inWidth + w) * ch;
          }
        }
        if (count === 4) scatter4(x, dx, g, o, ch, taps[0], taps[1], taps[2], taps[3]);
        else scatterAny(x, dx, g, o, ch, taps, count);
      }
    }
  }
  return out;
}

/** One window of 4 taps (offsets p0..p3, in scan order): dy[o + c] to each channel's argmax. */
function scatter4(
  x: Float32Array,
  dx: Float32Array,
  g: Float32Array,
  o: number,
  ch: number,
  p0: number,
  p1: number,
  p2: number,
  p3: number,
): void {
  for (let c = 0; c < ch; c++) {
    let best = Number.NEGATIVE_INFINITY;
    let where = -1;
    let v = x[p0 + c];
    if (v > best) {
      best = v;
      where = p0 + c;
    }
    v = x[p1 + c];
    if (v > best) {
      best = v;
      where = p1 + c;
    }
    v = x[p2 + c];
    if (v > best) {
      best = v;
      where = p2 + c;
    }
    v = x[p3 + c];
    if (v > best) where = p3 + c;
    if (where >= 0) dx[where] += g[o + c];
  }
}

/** One window of `count` taps (offsets in `taps`, in scan order). */
function scatterAny(
  x: Float32Array,
  dx: Float32Array,
  g: Float32Array,
  o: number,
  ch: number,
  taps: Int32Array,
  count: number,
): void {
  for (let c = 0; c < ch; c++) {
    let best = Number.NEGATIVE_INFINITY;
    let where = -1;
    for (let t = 0; t < count; t++) {
      const i = taps[t] + c;
      const v = x[i];
      if (v > best) {
        best = v;
        where = i;
      }
    }
    if (where >= 0) dx[where] += g[o + c];
  }
}

/**
 * 2x2 pooling at stride 2 without padding and channels in fours (the zoo CNN's): windows do not
 * overlap, so WebAssembly SIMD on tfjs's heap compares four channels at a time and writes dx
 * once, with the same first-maximum rule. Null where it does not apply.
 */
function maxPoolGrad2x2Simd(
  backend: object,
  dy: tf.TensorInfo,
  input: tf.TensorInfo,
  attrs: MaxPoolGradAttrs,
): tf.TensorInfo | null {
  const info = poolGradInfo('MaxPoolGrad', dy, input, attrs);
  const { inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow } = info;
  const fits =
    info.filterHeight === 2 &&
    info.filterWidth === 2 &&
    info.strideHeight === 2 &&
    info.strideWidth === 2 &&
    info.dilationHeight === 1 &&
    info.dilationWidth === 1 &&
    info.padInfo.top === 0 &&
    info.padInfo.left === 0 &&
    2 * oh <= h &&
    2 * ow <= w &&
    c % 4 === 0 &&
    dy.dtype === 'float32' &&
    input.dtype === 'float32';
  const simd = fits ? tfjsHeapKernels(backend) : null;
  if (!simd) return null;
  const host = hostArrays('wasm', backend);
  const out = host.output(input.shape);
  const [x, d, o] = heapOffsets(host, [input, dy, out]);
  simd.maxPoolGrad2x2(x, d, o, info.batchSize, h, w, c, oh, ow);
  return out;
}
