import type * as tf from '@tensorflow/tfjs';
import { type ConvBackpropAttrs, convInfo, explicitPad } from './conv-attrs.js';
import type { KernelScope } from './kernel-scope.js';
import { withKernelScope } from './kernel-scope.js';
import { fitAxis, needsCrop } from './window.js';

export interface Conv2DBackpropInputAttrs extends ConvBackpropAttrs {
  inputShape: [number, number, number, number];
}

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

/**
 * dX of an NHWC Conv2D as one forward convolution:
 *
 *   dx[n,h,w,c] = sum_{kh,kw,f} up(dy)[n, h + top - kh*d, w + left - kw*d, f] * W[kh,kw,c,f]
 *
 * where up(dy) spreads dy on the stride grid. With the filter flipped in space and its channel
 * axes swapped ([KH,KW,F,C]) this is a stride-1 correlation with dilation d and explicit
 * padding (KH-1)*d - top before; rows never read are cropped.
 */
export function conv2dBackpropInput(
  backendName: string,
  backend: object,
  dy: tf.TensorInfo,
  filter: tf.TensorInfo,
  attrs: Conv2DBackpropInputAttrs,
): tf.TensorInfo {
  const info = convInfo(attrs.inputShape, filter.shape, attrs, false);
  const [n, h, w, c] = attrs.inputShape;
  const [kh, kw, fc, f] = filter.shape;
  if (fc !== c) throw new Error(`Conv2DBackpropInput: filter has ${fc} input channels, x has ${c}`);
  if (
    dy.shape[0] !== n ||
    dy.shape[1] !== info.outHeight ||
    dy.shape[2] !== info.outWidth ||
    dy.shape[3] !== f
  ) {
    throw new Error(
      `Conv2DBackpropInput: dy shape [${dy.shape}] does not match the forward output [${n},${info.outHeight},${info.outWidth},${f}]`,
    );
  }
  return withKernelScope(backendName, backend, (scope) => {
    const spread = spreadByStrides(scope, dy, info.strideHeight, info.strideWidth);
    const [, sh, sw] = spread.shape;
    const dh = info.dilationHeight;
    const dw = info.dilationWidth;
    const rows = fitAxis(sh, h, kh, 1, dh, (kh - 1) * dh - info.padInfo.top);
    const cols = fitAxis(sw, w, kw, 1, dw, (kw - 1) * dw - info.padInfo.left);
    const input =
      needsCrop(rows, sh) || needsCrop(cols, sw)
        ? scope.run(
            'Slice',
            { x: spread },
            {
              begin: [0, rows.sliceBegin, cols.sliceBegin, 0],
              size: [n, rows.sliceSize, cols.sliceSize, f],
            },
          )
        : spread;
    const flipped = scope.run('Reverse', { x: filter }, { dims: [0, 1] });
    const swapped =
      c === 1 ? scope.reshape(flipped, [kh, kw, f, 1]) : scope.transpose(flipped, [0, 1, 3, 2]);
    return scope.run(
      'Conv2D',
      { x: input, filter: swapped },
      {
        strides: [1, 1],
        dilations: [dh, dw],
        pad: explicitPad(rows.padBefore, rows.padAfter, cols.padBefore, cols.padAfter),
        dataFormat: 'NHWC',
      },
    );
  });
}
