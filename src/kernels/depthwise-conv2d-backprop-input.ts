import { type Conv2DBackpropInputAttrs, type ConvGradKernel, gradConvInfo } from './conv-attrs.js';
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
export const depthwiseConv2dBackpropInput: ConvGradKernel<Conv2DBackpropInputAttrs> = (
  backendName,
  backend,
  dy,
  filter,
  attrs,
) => {
  const kernel = 'DepthwiseConv2dNativeBackpropInput';
  const info = gradConvInfo(kernel, attrs.inputShape, filter.shape, dy, attrs, true);
  const [n, h, w, c] = attrs.inputShape;
  const [kh, kw, , m] = filter.shape;
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
};
