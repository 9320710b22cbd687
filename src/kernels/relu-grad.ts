import * as tf from '@tensorflow/tfjs';
import { tfjsHeapKernels } from '../wasm/tfjs-heap.js';
import { heapOffsets, hostArrays } from './host-arrays.js';

/** frugal's one-pass ReLU gradient kernel (wasm). */
export const FAST_RELU_GRAD = 'FrugalReluGrad';

/**
 * dy * step(x) in one WebAssembly SIMD pass on tfjs's heap, where tfjs runs Step, Cast and
 * Multiply (three passes and two temporaries of x's size). Same values: step is 1 above 0, 0
 * otherwise and NaN for NaN, and dy * 1, dy * 0 are exact.
 */
export function reluGradWasm(backend: object, dy: tf.TensorInfo, x: tf.TensorInfo): tf.TensorInfo {
  const simd = tfjsHeapKernels(backend);
  if (!simd) throw new Error(`${FAST_RELU_GRAD}: the wasm heap kernels are not available`);
  if (!tf.util.arraysEqual(dy.shape, x.shape)) {
    throw new Error(`${FAST_RELU_GRAD}: dy has shape [${dy.shape}], x [${x.shape}]`);
  }
  const host = hostArrays('wasm', backend);
  const out = host.output(x.shape);
  const [d, xs, o] = heapOffsets(host, [dy, x, out]);
  simd.reluGrad(d, xs, o, tf.util.sizeFromShape(x.shape));
  return out;
}

/** Relu's gradient: the one-pass kernel on wasm (float32), the stock gradient elsewhere. */
export function reluGradConfig(stock: tf.GradConfig | undefined): tf.GradConfig {
  return {
    kernelName: 'Relu',
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved;
      const d = dy as tf.Tensor;
      const fast =
        tf.getBackend() === 'wasm' &&
        x.dtype === 'float32' &&
        d.dtype === 'float32' &&
        tf.getKernel(FAST_RELU_GRAD, 'wasm') !== undefined &&
        tfjsHeapKernels(tf.backend()) !== null;
      if (fast)
        return { x: () => tf.engine().runKernel(FAST_RELU_GRAD, { dy: d, x }) as tf.Tensor };
      if (!stock) return { x: () => tf.mul(d, tf.cast(tf.step(x), 'float32')) };
      return stock.gradFunc(dy, saved, attrs);
    },
  };
}
