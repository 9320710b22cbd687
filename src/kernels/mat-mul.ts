import type * as tf from '@tensorflow/tfjs';
import { hostArrays } from './host-arrays.js';
import { type KernelScope, withKernelScope } from './kernel-scope.js';
import type { StockKernelBody } from './registry.js';

/**
 * Stock wasm runs a matmul with `transposeA` or `transposeB` through a naive loop, about 10x
 * slower than the XNNPACK path it takes for plain operands (a dense layer's backward is all
 * transposed matmuls). Materialising the transposes and calling the stock kernel with plain
 * operands gives the same result at XNNPACK speed.
 */
export const matMulPlainOperands: StockKernelBody = (
  backendName,
  backend,
  inputs,
  attrs,
  stock,
) => {
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
    if (swappedIsCheaper(a, b, attrs, inputs)) {
      // a b^T = (b a^T)^T: transposes a and the product instead of the larger b, and XNNPACK
      // packs a^T (small) instead of b^T. A dense layer's input gradient dy W^T is this case.
      const product = stock.kernelFunc({
        inputs: { a: b, b: swapLast(a) },
        backend,
        attrs: { ...attrs, transposeA: false, transposeB: false },
      }) as tf.TensorInfo;
      return swapLast(scope.adopt(product));
    }
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
};

/**
 * Whether a b^T (rank 2, no bias or activation) costs less as (b a^T)^T: when b holds more
 * values than a and the product together (each transpose copies its operand).
 */
function swappedIsCheaper(
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  attrs: tf.NamedAttrMap,
  inputs: tf.NamedTensorInfoMap,
): boolean {
  if (attrs.transposeA || !attrs.transposeB) return false;
  if (a.shape.length !== 2 || b.shape.length !== 2) return false;
  if (inputs.bias || inputs.preluActivationWeights) return false;
  if (attrs.activation != null && attrs.activation !== 'linear') return false;
  const [m, k] = a.shape;
  const n = b.shape[0];
  return n * k > m * k + m * n;
}

/** tfjs fused activations as the kernels that apply them. */
function activate(
  scope: KernelScope,
  x: tf.TensorInfo,
  activation: unknown,
  alpha: tf.TensorInfo | undefined,
  leakyAlpha: unknown,
): tf.TensorInfo {
  if (activation == null || activation === 'linear') return x;
  if (activation === 'prelu') {
    if (!alpha) throw new Error('_FusedMatMul: prelu without preluActivationWeights');
    return scope.run('Prelu', { x, alpha });
  }
  if (activation === 'leakyrelu')
    return scope.run('LeakyRelu', { x }, { alpha: Number(leakyAlpha ?? 0.2) });
  const kernel = { relu: 'Relu', relu6: 'Relu6', elu: 'Elu', sigmoid: 'Sigmoid' }[
    String(activation)
  ];
  if (!kernel) throw new Error(`_FusedMatMul: unsupported activation '${String(activation)}'`);
  return scope.run(kernel, { x });
}

/**
 * `_FusedMatMul` with any bias tfjs-core allows. Stock wasm takes only a rank-1 bias, and reads
 * the rank from the bias's storage, so even a rank-1 bias made by reshaping a [1, n] tensor is
 * refused ("only supports rank-1 bias but got rank 2"). A bias of one value per output column is
 * copied to rank-1 storage; one that also varies by row is added after the product, then the
 * activation is applied.
 */
export const fusedMatMul: StockKernelBody = (backendName, backend, inputs, attrs, stock) => {
  const { b, bias, preluActivationWeights } = inputs as {
    b: tf.TensorInfo;
    bias?: tf.TensorInfo;
    preluActivationWeights?: tf.TensorInfo;
  };
  const storage = (backend as { dataIdMap?: { get(id: object): { shape: number[] } | undefined } })
    .dataIdMap;
  const storedRank = bias ? (storage?.get(bias.dataId)?.shape ?? bias.shape).length : 1;
  if (!bias || storedRank === 1)
    return matMulPlainOperands(backendName, backend, inputs, attrs, stock);
  const n = b.shape[b.shape.length - (attrs.transposeB ? 2 : 1)];
  const size = bias.shape.reduce((p, d) => p * d, 1);
  return withKernelScope(backendName, backend, (scope) => {
    if (size === n) {
      // A copy stored as rank 1 (frugal's wasm Identity shares the storage, and its rank).
      const host = hostArrays(backendName, backend);
      const flat = scope.adopt(host.output([n]));
      host.view(flat).set(host.view(bias));
      return matMulPlainOperands(backendName, backend, { ...inputs, bias: flat }, attrs, stock);
    }
    const { a } = inputs;
    const product = scope.adopt(
      matMulPlainOperands(
        backendName,
        backend,
        { a, b },
        { ...attrs, activation: 'linear' },
        stock,
      ),
    );
    const sum = scope.run('Add', { a: product, b: bias });
    return activate(scope, sum, attrs.activation, preluActivationWeights, attrs.leakyreluAlpha);
  });
};
