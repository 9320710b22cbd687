import type * as tf from '@tensorflow/tfjs';
import { type ConvBackpropAttrs, convInfo } from './conv-attrs.js';
import { gatherGemm, packColumns } from './gemm.js';
import { hostArrays } from './host-arrays.js';

/** Copies NHWC x into a zero-padded [N, H+top+bottom, W+left+right, C] array. */
function padImage(
  x: Float32Array,
  [n, h, w, c]: number[],
  top: number,
  bottom: number,
  left: number,
  right: number,
): Float32Array {
  if (top === 0 && bottom === 0 && left === 0 && right === 0) return x;
  const hp = h + top + bottom;
  const wp = w + left + right;
  const out = new Float32Array(n * hp * wp * c);
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < h; i++) {
      const src = (b * h + i) * w * c;
      const dst = ((b * hp + i + top) * wp + left) * c;
      out.set(x.subarray(src, src + w * c), dst);
    }
  }
  return out;
}

/**
 * NHWC Conv2D for the cpu backend as a register-blocked GEMM over a zero-padded copy of x: every
 * output pixel is a row, every (kh, kw) a tap of C contiguous values, the filter the packed right
 * operand. Any stride, dilation and padding. The backward kernels reuse it through 'Conv2D'.
 */
export function conv2dCpu(
  backend: object,
  x: tf.TensorInfo,
  filter: tf.TensorInfo,
  attrs: ConvBackpropAttrs,
): tf.TensorInfo {
  const info = convInfo(x.shape, filter.shape, attrs, false);
  const [n, h, w, c] = x.shape;
  const [kh, kw, , f] = filter.shape;
  const { top, bottom, left, right } = info.padInfo;
  const { outHeight: oh, outWidth: ow, strideHeight: sh, strideWidth: sw } = info;
  const { dilationHeight: dh, dilationWidth: dw } = info;
  const host = hostArrays('cpu', backend);
  const out = host.output([n, oh, ow, f]);
  const y = host.view(out);
  const hp = h + top + bottom;
  const wp = w + left + right;
  const image = padImage(host.view(x), x.shape, top, bottom, left, right);
  const rowStarts = new Int32Array(n * oh * ow);
  let r = 0;
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++) rowStarts[r++] = ((b * hp + i * sh) * wp + j * sw) * c;
    }
  }
  const offsets = new Int32Array(kh * kw);
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) offsets[i * kw + j] = (i * dh * wp + j * dw) * c;
  }
  gatherGemm(image, rowStarts, offsets, c, packColumns(host.view(filter), kh * kw * c, f), f, y);
  return out;
}

/** Plain [M, K] x [K, N] float32 matmul on the cpu backend with the same GEMM. */
export function matMulCpu(backend: object, a: tf.TensorInfo, b: tf.TensorInfo): tf.TensorInfo {
  const [m, k] = a.shape.slice(-2);
  const n = b.shape[b.shape.length - 1];
  const host = hostArrays('cpu', backend);
  const out = host.output([...a.shape.slice(0, -2), m, n]);
  const rowStarts = new Int32Array(m);
  for (let i = 0; i < m; i++) rowStarts[i] = i * k;
  const packed = packColumns(host.view(b), k, n);
  gatherGemm(host.view(a), rowStarts, new Int32Array([0]), k, packed, n, host.view(out));
  return out;
}
