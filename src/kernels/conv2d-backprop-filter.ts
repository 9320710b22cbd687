import type * as tf from '@tensorflow/tfjs';
import { type ConvBackpropAttrs, checkForwardOutput, convInfo, explicitPad } from './conv-attrs.js';
import { withKernelScope } from './kernel-scope.js';
import { fitAxis, needsCrop } from './window.js';

export interface Conv2DBackpropFilterAttrs extends ConvBackpropAttrs {
  filterShape: [number, number, number, number];
}

/**
 * dW of an NHWC Conv2D as one forward convolution (fast on every backend that has a fast Conv2D):
 *
 *   dW[kh,kw,c,f] = sum_{n,oh,ow} x[n, oh*s + kh*d - top, ow*s + kw*d - left, c] * dy[n,oh,ow,f]
 *
 * is a correlation of x^T ([C,H,W,N], channels as the batch, the batch as channels) with dy^T
 * ([OH,OW,N,F] as the filter) at stride d (the forward dilation) and dilation s (the forward
 * stride), giving [C,KH,KW,F], transposed to [KH,KW,C,F]. Rows the forward never read are
 * cropped; the forward's padding becomes explicit padding.
 */
export function conv2dBackpropFilter(
  backendName: string,
  backend: object,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  attrs: Conv2DBackpropFilterAttrs,
): tf.TensorInfo {
  const info = convInfo(x.shape, attrs.filterShape, attrs, false);
  const [n, h, w, c] = x.shape;
  const [kh, kw, , f] = attrs.filterShape;
  checkForwardOutput('Conv2DBackpropFilter', dy, info, f);
  const rows = fitAxis(
    h,
    kh,
    info.outHeight,
    info.dilationHeight,
    info.strideHeight,
    info.padInfo.top,
  );
  const cols = fitAxis(
    w,
    kw,
    info.outWidth,
    info.dilationWidth,
    info.strideWidth,
    info.padInfo.left,
  );
  return withKernelScope(backendName, backend, (scope) => {
    let xt = scope.transpose(x, [3, 1, 2, 0]);
    if (needsCrop(rows, h) || needsCrop(cols, w)) {
      xt = scope.run(
        'Slice',
        { x: xt },
        {
          begin: [0, rows.sliceBegin, cols.sliceBegin, 0],
          size: [c, rows.sliceSize, cols.sliceSize, n],
        },
      );
    }
    const dyt = scope.transpose(dy, [1, 2, 0, 3]);
    const z = scope.run(
      'Conv2D',
      { x: xt, filter: dyt },
      {
        strides: [info.dilationHeight, info.dilationWidth],
        dilations: [info.strideHeight, info.strideWidth],
        pad: explicitPad(rows.padBefore, rows.padAfter, cols.padBefore, cols.padAfter),
        dataFormat: 'NHWC',
      },
    );
    return c === 1 ? scope.reshape(z, [kh, kw, 1, f]) : scope.transpose(z, [1, 2, 0, 3]);
  });
}
