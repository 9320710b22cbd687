import type * as tf from '@tensorflow/tfjs';
import { checkForwardOutput, convInfo } from './conv-attrs.js';
import type { Conv2DBackpropInputAttrs } from './conv2d-backprop-input.js';
import { inputGradWindow } from './input-grad-window.js';
import { withKernelScope } from './kernel-scope.js';

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
  checkForwardOutput('DepthwiseConv2dNativeBackpropInput', dy, info, c * m);
  return withKernelScope(backendName, backend, (scope) => {
    const spread = inputGradWindow(scope, dy, info, h, w);
    const flipped = scope.reshape(scope.run('Reverse', { x: filter }, { dims: [0, 1] }), [
      kh,
      kw,
      c * m,
      1,
    ]);
    const perChannel = scope.run(
      'DepthwiseConv2dNative',
      { x: spread.input, filter: flipped },
      spread.attrs,
    );
    if (m === 1) return perChannel;
    return scope.run(
      'Sum',
      { x: scope.reshape(perChannel, [n, h, w, c, m]) },
      { axis: [4], keepDims: false },
    );
  });
}
