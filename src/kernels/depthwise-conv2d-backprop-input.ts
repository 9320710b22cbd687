import type * as tf from '@tensorflow/tfjs';
import { convInfo, explicitPad } from './conv-attrs.js';
import type { Conv2DBackpropInputAttrs } from './conv2d-backprop-input.js';
import { spreadByStrides } from './conv2d-backprop-input.js';
import { withKernelScope } from './kernel-scope.js';
import { fitAxis, needsCrop } from './window.js';

/**
 * dX of an NHWC depthwise convolution (filter [KH,KW,C,M], output channels c*M+m) as one forward
 * depthwise convolution, like `conv2dBackpropInput`:
 *
 *   dx[n,h,w,c] = sum_{kh,kw,m} up(dy)[n, h + top - kh*d, w + left - kw*d, c*M+m] * W[kh,kw,c,m]
 *
 * The spatially flipped filter, as [KH,KW,C*M,1], correlates each of the C*M channels of up(dy);
 * for M > 1 the M channels of each input channel are summed.
 */
export function depthwiseConv2dBackpropInput(
  backendName: string,
  backend: object,
  dy: tf.TensorInfo,
  filter: tf.TensorInfo,
  attrs: Conv2DBackpropInputAttrs,
): tf.TensorInfo {
  const info = convInfo(attrs.inputShape, filter.shape, attrs, true);
  const [n, h, w, c] = attrs.inputShape;
  const [kh, kw, fc, m] = filter.shape;
  if (fc !== c) {
    throw new Error(`DepthwiseConv2dNativeBackpropInput: filter has ${fc} channels, x has ${c}`);
  }
  if (dy.shape[1] !== info.outHeight || dy.shape[2] !== info.outWidth || dy.shape[3] !== c * m) {
    throw new Error(
      `DepthwiseConv2dNativeBackpropInput: dy shape [${dy.shape}] does not match the forward output [${n},${info.outHeight},${info.outWidth},${c * m}]`,
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
              size: [n, rows.sliceSize, cols.sliceSize, c * m],
            },
          )
        : spread;
    const flipped = scope.reshape(scope.run('Reverse', { x: filter }, { dims: [0, 1] }), [
      kh,
      kw,
      c * m,
      1,
    ]);
    const perChannel = scope.run(
      'DepthwiseConv2dNative',
      { x: input, filter: flipped },
      {
        strides: [1, 1],
        dilations: [dh, dw],
        pad: explicitPad(rows.padBefore, rows.padAfter, cols.padBefore, cols.padAfter),
        dataFormat: 'NHWC',
      },
    );
    if (m === 1) return perChannel;
    return scope.run(
      'Sum',
      { x: scope.reshape(perChannel, [n, h, w, c, m]) },
      { axis: [4], keepDims: false },
    );
  });
}
