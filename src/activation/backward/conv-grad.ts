import * as tf from '@tensorflow/tfjs';
import { explicitPad } from '../../kernels/conv-attrs.js';
import { FAST_CONV2D_BACKPROP_FILTER } from '../../kernels/conv2d-grad.js';
import { heapView, tensorFilledBy, withValues } from '../codec/js-memory.js';
import { addParts, type ChunkGrads } from './chunked-backward.js';

export type ConvPadding = 'valid' | 'same';

/** Top/left padding and output size of a 2-D convolution or pooling along one axis (tfjs rules). */
export function padBefore(
  size: number,
  kernel: number,
  stride: number,
  padding: ConvPadding,
): { out: number; before: number } {
  if (padding === 'valid') return { out: Math.floor((size - kernel) / stride) + 1, before: 0 };
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + kernel - size, 0);
  return { out, before: Math.floor(total / 2) };
}

/**
 * A gradient of a convolution with respect to its input (from dy and the filter w, giving dx of
 * `shape`) or its filter (from the input x and dy, giving dW of `shape`).
 */
export type ConvGrad = (
  a: tf.Tensor4D,
  b: tf.Tensor4D,
  shape: [number, number, number, number],
  strides: [number, number],
  padding: ConvPadding,
) => tf.Tensor4D;

/** Inserts stride-1 zeros between the rows and columns of dy (the transpose of striding). */
function dilate(dy: tf.Tensor4D, sh: number, sw: number): tf.Tensor4D {
  const [n, , , f] = dy.shape;
  const once = (t: tf.Tensor4D, axis: 1 | 2, s: number): tf.Tensor4D => {
    if (s === 1) return t;
    const [, th, tw] = t.shape;
    const split = axis === 1 ? [n, th, 1, tw, f] : [n, th, tw, 1, f];
    const pads: [number, number][] = [
      [0, 0],
      [0, 0],
      [0, 0],
      [0, 0],
      [0, 0],
    ];
    pads[axis + 1] = [0, s - 1];
    const joined = axis === 1 ? [n, th * s, tw, f] : [n, th, tw * s, f];
    const size = axis === 1 ? [n, (th - 1) * s + 1, tw, f] : [n, th, (tw - 1) * s + 1, f];
    // Each intermediate (reshape views included) is freed as soon as the next exists: under the
    // caller's tidy they would otherwise all live until the end of the chunk.
    const v = t.reshape(split);
    const padded = tf.pad(v, pads);
    v.dispose();
    const flat = padded.reshape(joined);
    padded.dispose();
    const out = flat.slice([0, 0, 0, 0], size) as tf.Tensor4D;
    flat.dispose();
    if (t !== dy) t.dispose();
    return out;
  };
  return once(once(dy, 1, sh), 2, sw);
}

/** Pads (negative amounts crop) along H and W of an NHWC tensor. */
function padOrCrop(t: tf.Tensor4D, top: number, bottom: number, left: number, right: number) {
  const [n, h, w, c] = t.shape;
  if (top >= 0 && bottom >= 0 && left >= 0 && right >= 0)
    return top + bottom + left + right === 0 ? t : tf.pad(t, explicitPad(top, bottom, left, right));
  let r = t.slice(
    [0, Math.max(0, -top), Math.max(0, -left), 0],
    [
      n,
      h - Math.max(0, -top) - Math.max(0, -bottom),
      w - Math.max(0, -left) - Math.max(0, -right),
      c,
    ],
  );
  if (top > 0 || bottom > 0 || left > 0 || right > 0)
    r = tf.pad(
      r,
      explicitPad(Math.max(0, top), Math.max(0, bottom), Math.max(0, left), Math.max(0, right)),
    );
  return r;
}

/** dy dilated by the strides, and the padding (negative: crop) of it along H and W. */
interface InputGradWindow {
  d: tf.Tensor4D;
  top: number;
  bottom: number;
  left: number;
  right: number;
}

/**
 * The window of the input gradient of a (depthwise) convolution: a stride-1 'valid' correlation
 * of dy dilated by the strides and padded by these amounts with the flipped filter gives dX of
 * `xShape`'s spatial size.
 */
function inputGradWindow(
  dy: tf.Tensor4D,
  xShape: readonly number[],
  filterShape: readonly number[],
  strides: [number, number],
  padding: ConvPadding,
): InputGradWindow {
  const [, h, wd] = xShape;
  const [kh, kw] = filterShape;
  const ph = padBefore(h, kh, strides[0], padding);
  const pw = padBefore(wd, kw, strides[1], padding);
  const d = dilate(dy, strides[0], strides[1]);
  const top = kh - 1 - ph.before;
  const left = kw - 1 - pw.before;
  const bottom = h + kh - 1 - top - d.shape[1];
  const right = wd + kw - 1 - left - d.shape[2];
  return { d, top, bottom, left, right };
}

/** The window's dilated dy padded (or cropped); the dilated copy is freed once padded. */
function paddedWindow(dy: tf.Tensor4D, win: InputGradWindow): tf.Tensor4D {
  const padded = padOrCrop(win.d, win.top, win.bottom, win.left, win.right);
  if (win.d !== dy && win.d !== padded) win.d.dispose();
  return padded;
}

/**
 * x padded (or cropped) to the rows and columns a filter-gradient correlation with dy dilated by
 * the strides reads: (OH - 1) * stride + KH rows from the forward's top padding on.
 */
function filterGradInput(
  x: tf.Tensor4D,
  dyShape: readonly number[],
  filterShape: readonly number[],
  strides: [number, number],
  padding: ConvPadding,
): tf.Tensor4D {
  const [, h, wd] = x.shape;
  const [kh, kw] = filterShape;
  const [, oh, ow] = dyShape;
  const ph = padBefore(h, kh, strides[0], padding);
  const pw = padBefore(wd, kw, strides[1], padding);
  const needH = (oh - 1) * strides[0] + kh;
  const needW = (ow - 1) * strides[1] + kw;
  return padOrCrop(x, ph.before, needH - ph.before - h, pw.before, needW - pw.before - wd);
}

/**
 * Gradient of conv2d(x, w) with respect to x, with forward convolutions only (tfjs-wasm has a
 * fast forward kernel): a 'valid' convolution of the dilated, padded dy with the flipped filter,
 * its in/out channels swapped.
 */
export const conv2dInputGrad: ConvGrad = (dy, w, xShape, strides, padding) =>
  tf.tidy(() => {
    const win = inputGradWindow(dy, xShape, w.shape, strides, padding);
    const { d, top, bottom, left, right } = win;
    const flipped = flipConv2dFilter(w);
    if (top >= 0 && bottom >= 0 && left >= 0 && right >= 0) {
      // Explicit padding inside the convolution: no padded copy of dy.
      return tf.conv2d(d, flipped, 1, explicitPad(top, bottom, left, right));
    }
    return tf.conv2d(paddedWindow(dy, win), flipped, 1, 'valid');
  });

/**
 * w [KH, KW, C, F] flipped in space with its channel axes swapped: [KH, KW, F, C]. On wasm one
 * JS pass over views of the tensors' memory (tfjs-wasm's Reverse of the CNN's 3x3x32x64 filter
 * takes about 0.7 ms, and a chunked backward flips once per chunk); elsewhere tf ops. The values
 * are the same (a permutation).
 */
export function flipConv2dFilter(w: tf.Tensor4D): tf.Tensor4D {
  const [kh, kw, c, f] = w.shape;
  if (!onWasmHeap(w))
    return tf.tidy(() => tf.reverse(w, [0, 1]).transpose([0, 1, 3, 2]) as tf.Tensor4D);
  return tensorFilledBy([kh, kw, f, c], (out) =>
    withValues(w, (v) => {
      for (let i = 0; i < kh; i++)
        for (let j = 0; j < kw; j++) {
          const src = ((kh - 1 - i) * kw + (kw - 1 - j)) * c * f;
          const dst = (i * kw + j) * f * c;
          for (let a = 0; a < c; a++)
            for (let o = 0; o < f; o++) out[dst + o * c + a] = v[src + a * f + o];
        }
    }),
  ) as tf.Tensor4D;
}

/** w flipped in space (a depthwise filter [KH, KW, C, 1] keeps its channel axes); see above. */
export function flipDepthwiseFilter(w: tf.Tensor4D): tf.Tensor4D {
  const [kh, kw, c, m] = w.shape;
  if (!onWasmHeap(w)) return tf.reverse(w, [0, 1]) as tf.Tensor4D;
  const tap = c * m;
  return tensorFilledBy(w.shape, (out) =>
    withValues(w, (v) => {
      for (let i = 0; i < kh; i++)
        for (let j = 0; j < kw; j++) {
          const src = ((kh - 1 - i) * kw + (kw - 1 - j)) * tap;
          out.set(v.subarray(src, src + tap) as Float32Array, (i * kw + j) * tap);
        }
    }),
  ) as tf.Tensor4D;
}

/** Whether `t` is a float32 tensor whose values JS can read in place (the wasm backend). */
function onWasmHeap(t: tf.Tensor): boolean {
  return t.dtype === 'float32' && heapView(t) !== null;
}

/**
 * Gradient of conv2d(x, w) with respect to w, with forward convolutions only: x transposed to
 * [C, H, W, N] convolved with dy transposed to [OH, OW, N, F] (dilated by the stride), cropped to
 * the filter size and transposed back to [KH, KW, C, F]. Under frugal's fast kernels the same
 * product as their one Conv2DBackpropFilter kernel (x cropped before, not the result after, and
 * one engine op instead of six: a chunked backward runs it once per chunk).
 */
export const conv2dFilterGrad: ConvGrad = (x, dy, filterShape, strides, padding) =>
  tf.tidy(() => {
    if (tf.getKernel(FAST_CONV2D_BACKPROP_FILTER, tf.getBackend()) !== undefined) {
      const attrs = { strides, pad: padding, dilations: 1, dataFormat: 'NHWC', filterShape };
      return tf.engine().runKernel(FAST_CONV2D_BACKPROP_FILTER, { x, dy }, attrs) as tf.Tensor4D;
    }
    const [kh, kw, c, f] = filterShape;
    const xp = filterGradInput(x, dy.shape, filterShape, strides, padding);
    const xt = xp.transpose([3, 1, 2, 0]) as tf.Tensor4D;
    if (xp !== x) xp.dispose();
    const dyt = dy.transpose([1, 2, 0, 3]) as tf.Tensor4D;
    const r = tf.conv2d(xt, dyt, 1, 'valid', 'NHWC', strides);
    return r.slice([0, 0, 0, 0], [c, kh, kw, f]).transpose([1, 2, 0, 3]) as tf.Tensor4D;
  });

/**
 * Gradient of depthwiseConv2d(x, w) (channel multiplier 1) with respect to x, with forward
 * depthwise convolutions only: the dilated dy convolved with the flipped filter.
 */
export const depthwiseInputGrad: ConvGrad = (dy, w, xShape, strides, padding) =>
  tf.tidy(() => {
    const padded = paddedWindow(dy, inputGradWindow(dy, xShape, w.shape, strides, padding));
    return tf.depthwiseConv2d(padded, flipDepthwiseFilter(w), 1, 'valid');
  });

/**
 * Gradient of depthwiseConv2d(x, w) (channel multiplier 1) with respect to w: x as one image of
 * N*C channels convolved depthwise with dy as an [OH, OW, N*C, 1] filter (dilated by the stride),
 * cropped to the kernel size and summed over the batch.
 */
export const depthwiseFilterGrad: ConvGrad = (x, dy, filterShape, strides, padding) =>
  tf.tidy(() => {
    const [n, , , c] = x.shape;
    const [kh, kw] = filterShape;
    const [, oh, ow] = dy.shape;
    const xp = filterGradInput(x, dy.shape, filterShape, strides, padding);
    const [, hp, wp] = xp.shape;
    const xt = xp.transpose([1, 2, 0, 3]).reshape([1, hp, wp, n * c]) as tf.Tensor4D;
    const f = dy.transpose([1, 2, 0, 3]).reshape([oh, ow, n * c, 1]) as tf.Tensor4D;
    const r = tf.depthwiseConv2d(xt, f, 1, 'valid', 'NHWC', strides);
    const cropped = r.slice([0, 0, 0, 0], [1, kh, kw, n * c]).reshape([kh, kw, n, c]);
    return tf.sum(cropped, 2).reshape([kh, kw, c, 1]) as tf.Tensor4D;
  });

/** The input and filter gradients of one kind of convolution. */
export interface ConvGrads {
  input: ConvGrad;
  filter: ConvGrad;
}

export const CONV2D_GRADS: ConvGrads = { input: conv2dInputGrad, filter: conv2dFilterGrad };
export const DEPTHWISE_GRADS: ConvGrads = {
  input: depthwiseInputGrad,
  filter: depthwiseFilterGrad,
};

/**
 * One chunk of a convolution layer's backward: from dz (dy through the activation) and the rows
 * `xr` of the layer input, dx, dW and (with a bias) db. Frees `xr` once dW exists. `db`: the
 * bias gradient (dz summed over N, H, W) where the caller computed it with dz already.
 */
export function convChunkGrads(
  grads: ConvGrads,
  dz: tf.Tensor4D,
  xr: tf.Tensor4D,
  w: tf.Tensor4D,
  withBias: boolean,
  strides: [number, number],
  padding: ConvPadding,
  db?: tf.Tensor,
): ChunkGrads {
  const dw = grads.filter(xr, dz, w.shape, strides, padding);
  const xShape = [...xr.shape] as [number, number, number, number];
  xr.dispose();
  const dx = grads.input(dz, w, xShape, strides, padding);
  return { dx, params: withBias ? [dw, db ?? tf.sum(dz, [0, 1, 2])] : [dw] };
}

/**
 * The weight gradients only (dW and, with a bias, db) of a convolution layer's backward, chunk by
 * chunk, for an input whose gradient no one reads. `chunk(first, count)` gives dz and the input
 * rows of a chunk (the rows are freed here once dW exists; dz is freed unless it is `keep`), and
 * db where it computed it with dz.
 */
export function convWeightGradsOnly(
  grads: ConvGrads,
  n: number,
  rows: number,
  chunk: (
    first: number,
    count: number,
  ) => { dz: tf.Tensor4D; xr: tf.Tensor4D; keep: tf.Tensor; db?: tf.Tensor },
  w: tf.Tensor4D,
  withBias: boolean,
  strides: [number, number],
  padding: ConvPadding,
): tf.Tensor[] {
  let sums: tf.Tensor[] | null = null;
  for (let first = 0; first < n; first += rows) {
    const count = Math.min(rows, n - first);
    const { dz, xr, keep, db } = chunk(first, count);
    const dw = grads.filter(xr, dz, w.shape, strides, padding);
    xr.dispose();
    const part = withBias ? [dw, db ?? tf.sum(dz, [0, 1, 2])] : [dw];
    if (dz !== keep) dz.dispose();
    sums = addParts(sums, part);
  }
  return sums ?? [];
}
