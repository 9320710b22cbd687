import { type Conv2DBackpropFilterAttrs, type ConvGradKernel, gradConvInfo } from './conv-attrs.js';
import { filterGradByPatches, patchesAreSmaller } from './conv2d-filter-grad-patches.js';
import { transposeFast } from './heap-transpose.js';
import { filterGradWindow } from './input-grad-window.js';
import { withKernelScope } from './kernel-scope.js';

/**
 * dW of an NHWC Conv2D as one forward convolution (fast on every backend that has a fast Conv2D):
 *
 *   dW[kh,kw,c,f] = sum_{n,oh,ow} x[n, oh*s + kh*d - top, ow*s + kw*d - left, c] * dy[n,oh,ow,f]
 *
 * is a correlation of x^T ([C,H,W,N], channels as the batch, the batch as channels) with dy^T
 * ([OH,OW,N,F] as the filter) at stride d (the forward dilation) and dilation s (the forward
 * stride), giving [C,KH,KW,F], transposed to [KH,KW,C,F]. Rows the forward never read are
 * cropped; the forward's padding becomes explicit padding. On wasm, where the patches of x are
 * smaller than dy, one matmul over the patches instead (conv2d-filter-grad-patches.ts).
 */
export const conv2dBackpropFilter: ConvGradKernel<Conv2DBackpropFilterAttrs> = (
  backendName,
  backend,
  x,
  dy,
  attrs,
) => {
  const info = gradConvInfo('Conv2DBackpropFilter', x.shape, attrs.filterShape, dy, attrs, false);
  const c = x.shape[3];
  const [kh, kw, , f] = attrs.filterShape;
  return withKernelScope(backendName, backend, (scope) => {
    if (backendName === 'wasm' && patchesAreSmaller(info))
      return filterGradByPatches(scope, x, dy, info);
    const win = filterGradWindow(scope, transposeFast(scope, x, [3, 1, 2, 0]), info);
    const dyt = transposeFast(scope, dy, [1, 2, 0, 3]);
    const z = scope.run('Conv2D', { x: win.input, filter: dyt }, win.attrs);
    return c === 1 ? scope.reshape(z, [kh, kw, 1, f]) : scope.transpose(z, [1, 2, 0, 3]);
  });
};
