import type * as tf from '@tensorflow/tfjs';
import { matMulBatch } from './batched-mat-mul.js';
import type { ConvBackpropAttrs } from './conv-attrs.js';
import { conv2dCpu, matMulCpu } from './conv2d-cpu.js';
import { hostArrays } from './host-arrays.js';
import { withKernelScope } from './kernel-scope.js';

/** Activations the cpu kernels fuse themselves; anything else goes to the stock kernel. */
const FUSED = new Set(['linear', 'relu']);

function isFloat(...xs: (tf.TensorInfo | undefined)[]): boolean {
  return xs.every((x) => x === undefined || x.dtype === 'float32');
}

/** Adds a per-channel (last axis) bias and applies relu, in place. */
function biasActivation(y: Float32Array, bias: Float32Array | undefined, relu: boolean): void {
  const ch = bias?.length ?? 1;
  for (let i = 0; i < y.length; i += ch) {
    for (let c = 0; c < ch; c++) {
      let v = y[i + c] + (bias ? bias[c] : 0);
      if (relu && v < 0) v = 0;
      y[i + c] = v;
    }
  }
}

type Args = { inputs: tf.NamedTensorInfoMap; backend: object; attrs?: tf.NamedAttrMap };
type Stock = tf.KernelConfig | undefined;

function stockOr(stock: Stock, args: Args, why: string): tf.TensorInfo {
  if (!stock) throw new Error(`frugal fast kernels: no stock cpu kernel for ${why}`);
  return stock.kernelFunc({ ...args, attrs: args.attrs ?? {} }) as tf.TensorInfo;
}

/** cpu 'Conv2D' and 'FusedConv2D' (bias + linear/relu) through the blocked GEMM; NCHW etc. to stock. */
export function cpuConv2D(_: string, args: Args, stock: Stock): tf.TensorInfo {
  const { x, filter, bias, preluActivationWeights } = args.inputs;
  const attrs = (args.attrs ?? {}) as unknown as ConvBackpropAttrs & { activation?: string };
  const activation = attrs.activation ?? 'linear';
  const supported =
    (attrs.dataFormat ?? 'NHWC') === 'NHWC' &&
    FUSED.has(activation) &&
    preluActivationWeights === undefined &&
    isFloat(x, filter, bias);
  if (!supported) return stockOr(stock, args, 'this convolution');
  const out = conv2dCpu(args.backend, x!, filter!, attrs);
  if (bias || activation === 'relu') {
    const host = hostArrays('cpu', args.backend);
    biasActivation(host.view(out), bias ? host.view(bias) : undefined, activation === 'relu');
  }
  return out;
}

/** cpu 'BatchMatMul' and '_FusedMatMul' with batch 1: transposes made explicit, blocked GEMM. */
export function cpuMatMul(_: string, args: Args, stock: Stock): tf.TensorInfo {
  const { a, b, bias, preluActivationWeights } = args.inputs as Record<string, tf.TensorInfo>;
  const attrs = args.attrs ?? {};
  const activation = (attrs.activation as string | undefined) ?? 'linear';
  const supported =
    matMulBatch(a.shape) === 1 &&
    matMulBatch(b.shape) === 1 &&
    FUSED.has(activation) &&
    preluActivationWeights === undefined &&
    isFloat(a, b, bias) &&
    (bias === undefined || bias.shape.length === 1);
  if (!supported) return stockOr(stock, args, 'this matmul');
  const out = withKernelScope('cpu', args.backend, (scope) => {
    const plain = (t: tf.TensorInfo, transposed: unknown) => {
      const [r, c] = t.shape.slice(-2);
      const t2 = scope.reshape(t, [r, c]);
      return transposed ? scope.transpose(t2, [1, 0]) : t2;
    };
    const product = scope.adopt(
      matMulCpu(args.backend, plain(a, attrs.transposeA), plain(b, attrs.transposeB)),
    );
    // Batch dims are all 1 here; the result has as many as the higher-rank operand.
    const outer = (a.shape.length >= b.shape.length ? a.shape : b.shape).slice(0, -2);
    return outer.length ? scope.reshape(product, [...outer, ...product.shape]) : product;
  });
  if (bias || activation === 'relu') {
    const host = hostArrays('cpu', args.backend);
    biasActivation(host.view(out), bias ? host.view(bias) : undefined, activation === 'relu');
  }
  return out;
}
