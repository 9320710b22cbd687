// The table of frugal's kernels and gradient overrides, installed by useFastKernels() (index.ts).
// The wasm backend is not imported here: importing it registers it as tfjs's highest-priority
// backend, which would change the backend of every program that imports frugal. initEngine loads
// it on demand, and the registry wraps its stock kernels once it is registered.
import type * as tf from '@tensorflow/tfjs';
import { avgPoolGrad } from './avg-pool-grad.js';
import {
  BATCH_NORM_PARTS,
  type BatchNormPart,
  batchNormGradPart,
  FAST_BATCH_NORM_GRAD,
} from './batch-norm-grad.js';
import { batchNormGradConfig } from './batch-norm-grad-config.js';
import { batchedMatMulAsDepthwise, matMulBatch } from './batched-mat-mul.js';
import { BINARY_OPS, binaryCpu } from './binary-cpu.js';
import type { ConvGradKernel } from './conv-attrs.js';
import { conv2dBackpropFilter } from './conv2d-backprop-filter.js';
import { conv2dBackpropInput } from './conv2d-backprop-input.js';
import {
  conv2dGradConfig,
  depthwiseConv2dGradConfig,
  FAST_CONV2D_BACKPROP_FILTER,
  FAST_CONV2D_BACKPROP_INPUT,
  FAST_DEPTHWISE_BACKPROP_FILTER,
  FAST_DEPTHWISE_BACKPROP_INPUT,
} from './conv2d-grad.js';
import { cpuConv2D, cpuMatMul } from './cpu-dense.js';
import { depthwiseConv2dBackpropFilter } from './depthwise-conv2d-backprop-filter.js';
import { depthwiseConv2dBackpropInput } from './depthwise-conv2d-backprop-input.js';
import { identityShared } from './identity-wasm.js';
import { fusedMatMul, matMulPlainOperands } from './mat-mul.js';
import { type MaxPoolGradAttrs, maxPoolGrad } from './max-pool-grad.js';
import type { FastGradient, FastKernel, StockKernelBody } from './registry.js';
import { FAST_RELU_GRAD, reluGradConfig, reluGradWasm } from './relu-grad.js';
import { contiguousSliceWasm } from './slice-rows.js';
import { leadingAxes, sumLeading } from './sum-leading.js';
import { tileRows } from './tile.js';
import { tileGradConfig } from './tile-grad.js';

/** Backends that get frugal's kernels. */
export const FAST_KERNEL_BACKENDS = ['cpu', 'wasm'] as const;

type Body = (
  inputs: tf.NamedTensorInfoMap,
  backendName: string,
  backend: object,
  attrs: tf.NamedAttrMap,
) => tf.TensorInfo;

/** NCHW (which frugal's kernels do not handle) goes to the stock kernel when there is one. */
function nhwcOrStock(body: Body): FastKernel['kernelFunc'] {
  return (backendName, { inputs, backend, attrs = {} }, stock) => {
    if (attrs.dataFormat === 'NCHW' && stock) {
      return stock.kernelFunc({ inputs, backend, attrs }) as tf.TensorInfo;
    }
    return body(inputs, backendName, backend, attrs);
  };
}

/** A convolution gradient kernel on the inputs named `a` and `b`, NCHW to the stock kernel. */
function convGrad<A>(kernel: ConvGradKernel<A>, a: string, b: string): FastKernel['kernelFunc'] {
  return nhwcOrStock((inputs, name, backend, attrs) =>
    kernel(name, backend, inputs[a]!, inputs[b]!, attrs as unknown as A),
  );
}

const filterGrad = convGrad(conv2dBackpropFilter, 'x', 'dy');
const inputGrad = convGrad(conv2dBackpropInput, 'dy', 'filter');
const depthwiseFilterGrad = convGrad(depthwiseConv2dBackpropFilter, 'x', 'dy');
const depthwiseInputGrad = convGrad(depthwiseConv2dBackpropInput, 'dy', 'filter');

const withStock =
  (body: StockKernelBody): FastKernel['kernelFunc'] =>
  (name, { inputs, backend, attrs = {} }, stock) => {
    if (!stock) throw new Error(`frugal fast kernels: backend '${name}' has no stock kernel`);
    return body(name, backend, inputs, attrs, stock);
  };

/** Kernels frugal registers, per backend; each receives the stock kernel it replaces. */
export const FAST_KERNELS: FastKernel[] = [
  // Under the stock names and under frugal's own (which take `dilations`, conv2d-grad.ts).
  ...(
    [
      ['Conv2DBackpropFilter', filterGrad],
      ['Conv2DBackpropInput', inputGrad],
      [FAST_CONV2D_BACKPROP_FILTER, filterGrad],
      [FAST_CONV2D_BACKPROP_INPUT, inputGrad],
      ['DepthwiseConv2dNativeBackpropFilter', depthwiseFilterGrad],
      ['DepthwiseConv2dNativeBackpropInput', depthwiseInputGrad],
      [FAST_DEPTHWISE_BACKPROP_FILTER, depthwiseFilterGrad],
      [FAST_DEPTHWISE_BACKPROP_INPUT, depthwiseInputGrad],
    ] as const
  ).map(
    ([kernelName, kernelFunc]): FastKernel => ({
      kernelName,
      backends: FAST_KERNEL_BACKENDS,
      kernelFunc,
    }),
  ),
  {
    kernelName: 'AvgPoolGrad',
    backends: FAST_KERNEL_BACKENDS,
    kernelFunc: (name, { inputs, backend, attrs = {} }) =>
      avgPoolGrad(name, backend, inputs.dy!, inputs.input!, attrs as unknown as MaxPoolGradAttrs),
  },
  {
    kernelName: 'MaxPoolGrad',
    backends: FAST_KERNEL_BACKENDS,
    kernelFunc: (name, { inputs, backend, attrs = {} }) =>
      maxPoolGrad(name, backend, inputs.dy!, inputs.input!, attrs as unknown as MaxPoolGradAttrs),
  },
  ...(['Sum', 'Mean'] as const).map(
    (kernelName): FastKernel => ({
      kernelName,
      backends: FAST_KERNEL_BACKENDS,
      kernelFunc: withStock((name, backend, inputs, attrs, stock) => {
        const x = inputs.x!;
        const count = leadingAxes(x.shape, attrs.axis as number | number[]);
        if (x.dtype === 'float32' && count !== undefined && count > 0) {
          const keepDims = attrs.keepDims === true;
          return sumLeading(name, backend, x, count, keepDims, kernelName === 'Mean');
        }
        return stock.kernelFunc({ inputs, backend, attrs }) as tf.TensorInfo;
      }),
    }),
  ),
  {
    kernelName: 'BatchMatMul',
    backends: ['wasm'],
    kernelFunc: withStock((name, backend, inputs, attrs, stock) => {
      const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
      const batch = matMulBatch(a.shape);
      const sameBatch = a.shape.length === b.shape.length && batch === matMulBatch(b.shape);
      if (batch > 1 && sameBatch && a.dtype === 'float32' && b.dtype === 'float32') {
        const ta = attrs.transposeA === true;
        return batchedMatMulAsDepthwise(name, backend, a, b, ta, attrs.transposeB === true);
      }
      return matMulPlainOperands(name, backend, inputs, attrs, stock);
    }),
  },
  ...Object.keys(BINARY_OPS).map(
    (kernelName): FastKernel => ({
      kernelName,
      backends: ['cpu'],
      kernelFunc: withStock(
        (_name, backend, inputs, attrs, stock) =>
          binaryCpu(kernelName, backend, inputs.a!, inputs.b!) ??
          (stock.kernelFunc({ inputs, backend, attrs }) as tf.TensorInfo),
      ),
    }),
  ),
  {
    kernelName: FAST_BATCH_NORM_GRAD,
    backends: FAST_KERNEL_BACKENDS,
    kernelFunc: (name, { inputs, backend, attrs = {} }) => {
      const part = attrs.part as BatchNormPart;
      if (!BATCH_NORM_PARTS.includes(part)) {
        throw new Error(`${FAST_BATCH_NORM_GRAD}: unknown part '${String(part)}'`);
      }
      return batchNormGradPart(name, backend, inputs, part, attrs.varianceEpsilon as number);
    },
  },
  { kernelName: 'Conv2D', backends: ['cpu'], kernelFunc: cpuConv2D },
  { kernelName: 'FusedConv2D', backends: ['cpu'], kernelFunc: cpuConv2D },
  { kernelName: 'BatchMatMul', backends: ['cpu'], kernelFunc: cpuMatMul },
  { kernelName: '_FusedMatMul', backends: ['cpu'], kernelFunc: cpuMatMul },
  {
    kernelName: 'Tile',
    backends: FAST_KERNEL_BACKENDS,
    kernelFunc: withStock((name, backend, inputs, attrs, stock) => {
      const x = inputs.x!;
      if (x.dtype !== 'float32' || x.shape.length === 0) {
        return stock.kernelFunc({ inputs, backend, attrs }) as tf.TensorInfo;
      }
      return tileRows(name, backend, x, attrs.reps as number[]);
    }),
  },
  { kernelName: '_FusedMatMul', backends: ['wasm'], kernelFunc: withStock(fusedMatMul) },
  {
    kernelName: FAST_RELU_GRAD,
    backends: ['wasm'],
    kernelFunc: (_name, { inputs, backend }) => reluGradWasm(backend, inputs.dy!, inputs.x!),
  },
  {
    kernelName: 'Identity',
    backends: ['wasm'],
    kernelFunc: withStock((_name, backend, inputs, _attrs, stock) =>
      identityShared(backend, inputs.x!, stock, inputs),
    ),
  },
  {
    kernelName: 'Slice',
    backends: ['wasm'],
    kernelFunc: withStock(
      (_name, backend, inputs, attrs, stock) =>
        contiguousSliceWasm(
          backend,
          inputs.x!,
          attrs.begin as number | number[],
          attrs.size as number | number[],
        ) ?? (stock.kernelFunc({ inputs, backend, attrs }) as tf.TensorInfo),
    ),
  },
];

/** Gradient overrides (given the stock gradient to fall back on). */
export const FAST_GRADIENTS: FastGradient[] = [
  { kernelName: 'Conv2D', make: () => conv2dGradConfig },
  { kernelName: 'DepthwiseConv2dNative', make: () => depthwiseConv2dGradConfig },
  { kernelName: 'Tile', make: () => tileGradConfig },
  { kernelName: 'FusedBatchNorm', make: batchNormGradConfig },
  { kernelName: 'Relu', make: reluGradConfig },
];
