import { type Conv2DBackpropFilterAttrs, type ConvGradKernel, gradConvInfo } from './conv-attrs.js';
import { filterGradWindow } from './input-grad-window.js';
import { withKernelScope } from './kernel-scope.js';

/**
 * dW of an NHWC depthwise convolution (filter [KH,KW,C,M]) as one forward depthwise convolution:
 *
 *   dW[kh,kw,c,m] = sum_{n,oh,ow} x[n, oh*s + kh*d - top, ow*s + kw*d - left, c] * dy[n,oh,ow,c*M+m]
 *
 * x as one image of N*C channels ([1,H,W,N*C]) correlated depthwise with dy as the filter
 * ([OH,OW,N*C,M]) at stride d and dilation s gives [1,KH,KW,N*C*M]; summing over n gives dW.
 */
export const depthwiseConv2dBackpropFilter: ConvGradKernel<Conv2DBackpropFilterAttrs> = (
  backendName,
  backend,
  x,
  dy,
  attrs,
) => {
  const kernel = 'DepthwiseConv2dNativeBackpropFilter';
  const info = gradConvInfo(kernel, x.shape, attrs.filterShape, dy, attrs, true);
  const [n, h, w, c] = x.shape;
  const [kh, kw, , m] = attrs.filterShape;
  const [oh, ow] = [info.outHeight, info.outWidth];
  return withKernelScope(backendName, backend, (scope) => {
    const image = scope.reshape(scope.transpose(x, [1, 2, 0, 3]), [1, h, w, n * c]);
    const win = filterGradWindow(scope, image, info);
    const byImage =
      m === 1
        ? scope.transpose(dy, [1, 2, 0, 3])
        : scope.transpose(scope.reshape(dy, [n, oh, ow, c, m]), [1, 2, 0, 3, 4]);
    const z = scope.run(
      'DepthwiseConv2dNative',
      { x: win.input, filter: scope.reshape(byImage, [oh, ow, n * c, m]) },
      win.attrs,
    );
    const perImage = scope.reshape(z, [kh, kw, n, c * m]);
    const summed = scope.run('Sum', { x: perImage }, { axis: [2], keepDims: false });
    return scope.reshape(summed, [kh, kw, c, m]);
  });
};
