import type * as tf from '@tensorflow/tfjs';
import { hostArrays } from './host-arrays.js';
import type { KernelScope } from './kernel-scope.js';

/**
 * Whether dW is cheaper from the patches of x than as one forward convolution: when the patches
 * [N*OH*OW, KH*KW*C] hold fewer values than dy [N*OH*OW, F] (a first layer: C = 1, many filters).
 * The convolution form packs dy, transposed, as XNNPACK weights on every call; this form packs
 * the smaller patches instead.
 */
export function patchesAreSmaller(info: tf.backend_util.Conv2DInfo): boolean {
  return info.filterHeight * info.filterWidth * info.inChannels < info.outChannels;
}

/**
 * dW of an NHWC Conv2D as one matmul over the patches of x:
 *
 *   dW^T [F, KH*KW*C] = dy^T [F, N*OH*OW] x P [N*OH*OW, KH*KW*C],
 *   P[(n,oh,ow), (kh,kw,c)] = x[n, oh*sh + kh*dh - top, ow*sw + kw*dw - left, c] (0 outside),
 *
 * then transposed to [KH, KW, C, F]. Any strides, dilations and padding.
 */
export function filterGradByPatches(
  scope: KernelScope,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): tf.TensorInfo {
  const {
    batchSize: n,
    inHeight: h,
    inWidth: w,
    inChannels: c,
    outHeight: oh,
    outWidth: ow,
  } = info;
  const { filterHeight: kh, filterWidth: kw, outChannels: f } = info;
  const rows = n * oh * ow;
  const cols = kh * kw * c;
  const host = hostArrays(scope.backendName, scope.backend);
  const patches = scope.adopt(host.output([rows, cols]));
  const p = host.view(patches);
  const xs = host.view(x);
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
  const { top, left } = info.padInfo;
  p.fill(0);
  let o = 0;
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++, o += cols) {
        for (let a = 0; a < kh; a++) {
          const y = i * sh + a * dh - top;
          if (y < 0 || y >= h) continue;
          for (let e = 0; e < kw; e++) {
            const z = j * sw + e * dw - left;
            if (z < 0 || z >= w) continue;
            const src = ((b * h + y) * w + z) * c;
            const dst = o + (a * kw + e) * c;
            for (let ch = 0; ch < c; ch++) p[dst + ch] = xs[src + ch];
          }
        }
      }
    }
  }
  const dyT = scope.transpose(scope.reshape(dy, [rows, f]), [1, 0]);
  const product = scope.run('BatchMatMul', { a: dyT, b: patches }, {});
  return scope.reshape(scope.transpose(product, [1, 0]), [kh, kw, c, f]);
}
