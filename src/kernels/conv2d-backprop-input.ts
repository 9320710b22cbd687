import { type Conv2DBackpropInputAttrs, type ConvGradKernel, gradConvInfo } from './conv-attrs.js';
import { inputGradWindow } from './input-grad-window.js';
import { withKernelScope } from './kernel-scope.js';

/**
 * dX of an NHWC Conv2D as one forward convolution:
 *
 *   dx[n,h,w,c] = sum_{kh,kw,f} up(dy)[n, h + top - kh*d, w + left - kw*d, f] * W[kh,kw,c,f]
 *
 * where up(dy) spreads dy on the stride grid. With the filter flipped in space and its channel
 * axes swapped ([KH,KW,F,C]) this is a stride-1 correlation with dilation d and explicit
 * padding (KH-1)*d - top before; rows never read are cropped.
 */
export const conv2dBackpropInput: ConvGradKernel<Conv2DBackpropInputAttrs> = (
  backendName,
  backend,
  dy,
  filter,
  attrs,
) => {
  const kernel = 'Conv2DBackpropInput';
  const info = gradConvInfo(kernel, attrs.inputShape, filter.shape, dy, attrs, false);
  const [, h, w, c] = attrs.inputShape;
  const [kh, kw, , f] = filter.shape;
  return withKernelScope(backendName, backend, (scope) => {
    const spread = inputGradWindow(scope, dy, info, h, w);
    const flipped = scope.run('Reverse', { x: filter }, { dims: [0, 1] });
    const swapped =
      c === 1 ? scope.reshape(flipped, [kh, kw, f, 1]) : scope.transpose(flipped, [0, 1, 3, 2]);
    return scope.run('Conv2D', { x: spread.input, filter: swapped }, spread.attrs);
  });
};
