import type * as tf from '@tensorflow/tfjs';
import { withKernelScope } from './kernel-scope.js';

/**
 * Stock wasm runs a matmul with `transposeA` or `transposeB` through a naive loop, about 10x
 * slower than the XNNPACK path it takes for plain operands (a dense layer's backward is all
 * transposed matmuls). Materialising the transposes and calling the stock kernel with plain
 * operands gives the same result at XNNPACK speed.
 */
export function matMulPlainOperands(
  backendName: string,
  backend: object,
  inputs: tf.NamedTensorInfoMap,
  attrs: tf.NamedAttrMap,
  stock: tf.KernelConfig,
): tf.TensorInfo {
  const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  if (!attrs.transposeA && !attrs.transposeB) {
    return stock.kernelFunc({ inputs, backend, attrs }) as tf.TensorInfo;
  }
  return withKernelScope(backendName, backend, (scope) => {
    const swapLast = (x: tf.TensorInfo) => {
      const perm = x.shape.map((_, i) => i);
      perm.push(...perm.splice(-2).reverse());
      return scope.transpose(x, perm);
    };
    const plain = {
      ...inputs,
      a: attrs.transposeA ? swapLast(a) : a,
      b: attrs.transposeB ? swapLast(b) : b,
    };
    return stock.kernelFunc({
      inputs: plain,
      backend,
      attrs: { ...attrs, transposeA: false, transposeB: false },
    }) as tf.TensorInfo;
  });
}
