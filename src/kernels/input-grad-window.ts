import type * as tf from '@tensorflow/tfjs';
import { explicitPad } from './conv-attrs.js';
import type { KernelScope } from './kernel-scope.js';
import { type AxisFit, fitAxis, needsCrop } from './window.js';

/**
 * Spreads dy [N,OH,OW,F] on a grid of the forward strides, zeros between:
 * [N, OH*sh, OW*sw, F] with dy[n,oh,ow,f] at [n, oh*sh, ow*sw, f].
 */
export function spreadByStrides(
  scope: KernelScope,
  dy: tf.TensorInfo,
  sh: number,
  sw: number,
): tf.TensorInfo {
  if (sh === 1 && sw === 1) return dy;
  const [n, oh, ow, f] = dy.shape;
  const grid = scope.reshape(dy, [n * oh, 1, ow, 1, f]);
  const padded = scope.run(
    'PadV2',
    { x: grid },
    {
      paddings: [
        [0, 0],
        [0, sh - 1],
        [0, 0],
        [0, sw - 1],
        [0, 0],
      ],
      constantValue: 0,
    },
  );
  return scope.reshape(padded, [n, oh * sh, ow * sw, f]);
}

/** The input and attributes of the forward correlation that computes dX (stride 1) or dW. */
export interface GradWindow {
  input: tf.TensorInfo;
  attrs: {
    strides: [number, number];
    dilations: [number, number];
    pad: tf.backend_util.ExplicitPadding;
    dataFormat: 'NHWC';
  };
}

/**
 * dy of a (depthwise) convolution spread on the stride grid, cropped of rows the flipped filter
 * never reads, with the explicit padding (KH-1)*d - top before: a stride-1 correlation of it with
 * the spatially flipped filter at the forward dilation gives dX of spatial size [h, w].
 */
export function inputGradWindow(
  scope: KernelScope,
  dy: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
  h: number,
  w: number,
): GradWindow {
  const spread = spreadByStrides(scope, dy, info.strideHeight, info.strideWidth);
  const [, sh, sw] = spread.shape;
  const dh = info.dilationHeight;
  const dw = info.dilationWidth;
  const kh = info.filterHeight;
  const kw = info.filterWidth;
  const rows = fitAxis(sh, h, kh, 1, dh, (kh - 1) * dh - info.padInfo.top);
  const cols = fitAxis(sw, w, kw, 1, dw, (kw - 1) * dw - info.padInfo.left);
  return fittedWindow(scope, spread, rows, cols, [1, 1], [dh, dw]);
}

/**
 * x arranged as `image` ([B, h, w, C'], the spatial axes of x kept) and cropped of rows the
 * forward never read, with the attributes of its correlation with dy as the filter that gives dW:
 * stride d (the forward dilation), dilation s (the forward stride), the forward's padding made
 * explicit.
 */
export function filterGradWindow(
  scope: KernelScope,
  image: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): GradWindow {
  const [, h, w] = image.shape;
  const { dilationHeight: dh, dilationWidth: dw, strideHeight: sh, strideWidth: sw } = info;
  const rows = fitAxis(h, info.filterHeight, info.outHeight, dh, sh, info.padInfo.top);
  const cols = fitAxis(w, info.filterWidth, info.outWidth, dw, sw, info.padInfo.left);
  return fittedWindow(scope, image, rows, cols, [dh, dw], [sh, sw]);
}

/**
 * `t` [B, H, W, C] cropped of the rows and columns the fits leave out, with the attributes of a
 * correlation over it at these strides and dilations and the fits' explicit padding.
 */
function fittedWindow(
  scope: KernelScope,
  t: tf.TensorInfo,
  rows: AxisFit,
  cols: AxisFit,
  strides: [number, number],
  dilations: [number, number],
): GradWindow {
  const [b, h, w, channels] = t.shape;
  const input =
    needsCrop(rows, h) || needsCrop(cols, w)
      ? scope.run(
          'Slice',
          { x: t },
          {
            begin: [0, rows.sliceBegin, cols.sliceBegin, 0],
            size: [b, rows.sliceSize, cols.sliceSize, channels],
          },
        )
      : t;
  return {
    input,
    attrs: {
      strides,
      dilations,
      pad: explicitPad(rows.padBefore, rows.padAfter, cols.padBefore, cols.padAfter),
      dataFormat: 'NHWC',
    },
  };
}
