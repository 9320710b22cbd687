import type * as tf from '@tensorflow/tfjs';
import { type ConvBackpropAttrs, checkForwardOutput, convInfo } from './conv-attrs.js';
import { inputGradWindow } from './input-grad-window.js';
import { withKernelScope } from './kernel-scope.js';

export interface Conv2DBackpropInputAttrs extends ConvBackpropAttrs {
  inputShape: [number, number, number, number];
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
  const [, h, w, c] = attrs.inputShape;
  const [kh, kw, fc, f] = filter.shape;
  if (fc !== c) throw new Error(`Conv2DBackpropInput: filter has ${fc} input channels, x has ${c}`);
  checkForwardOutput('Conv2DBackpropInput', dy, info, f);
  return withKernelScope(backendName, backend, (scope) => {
    const spread = inputGradWindow(scope, dy, info, h, w);
    const flipped = scope.run('Reverse', { x: filter }, { dims: [0, 1] });
    const swapped =
      c === 1 ? scope.reshape(flipped, [kh, kw, f, 1]) : scope.transpose(flipped, [0, 1, 3, 2]);
    return scope.run('Conv2D', { x: spread.input, filter: swapped }, spread.attrs);
  });
}
