import type * as tf from '@tensorflow/tfjs';
import { tfjsHeapKernels } from '../wasm/tfjs-heap.js';
import { heapOffsets, hostArrays } from './host-arrays.js';
import type { KernelScope } from './kernel-scope.js';

/**
 * The two 4-D transposes of the filter gradient (conv2d-backprop-filter.ts) in WebAssembly SIMD
 * on tfjs-backend-wasm's heap, where they apply: [1,2,0,3] (whole rows of the last axis move:
 * [a, p, k] -> [p, a, k]) and [3,1,2,0] (a 2-D transpose per spatial position: [a, p, c] ->
 * [c, p, a]). tfjs-wasm's generic transpose takes 3-6x longer on these. Anything else, another
 * backend, or sizes off the SIMD tiles: the backend's Transpose.
 */
export function transposeFast(scope: KernelScope, x: tf.TensorInfo, perm: number[]): tf.TensorInfo {
  const simd =
    scope.backendName === 'wasm' && x.dtype === 'float32' && x.shape.length === 4
      ? tfjsHeapKernels(scope.backend)
      : null;
  if (simd) {
    const [a, h, w, k] = x.shape;
    const blocks = perm.join() === '1,2,0,3' && k % 4 === 0;
    const outer = perm.join() === '3,1,2,0' && a % 4 === 0 && k % 4 === 0;
    if (blocks || outer) {
      const shape = perm.map((i) => x.shape[i]);
      const host = hostArrays('wasm', scope.backend);
      const out = scope.adopt(host.output(shape));
      const [src, dst] = heapOffsets(host, [x, out]);
      if (blocks) simd.transposeBlocks(src, dst, a, h * w, k);
      else simd.transposeOuter(src, dst, a, h * w, k);
      return out;
    }
  }
  return scope.transpose(x, perm);
}
