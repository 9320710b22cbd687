import type * as tf from '@tensorflow/tfjs';
import { batchedMatMulAsDepthwise, matMulBatch } from './batched-mat-mul.js';
import { type Conv2DBackpropFilterAttrs, conv2dBackpropFilter } from './conv2d-backprop-filter.js';
import { type Conv2DBackpropInputAttrs, conv2dBackpropInput } from './conv2d-backprop-input.js';
import {
  conv2dGradConfig,
  depthwiseConv2dGradConfig,
  FAST_CONV2D_BACKPROP_FILTER,
  FAST_CONV2D_BACKPROP_INPUT,
  FAST_DEPTHWISE_BACKPROP_FILTER,
  FAST_DEPTHWISE_BACKPROP_INPUT,
} from './conv2d-grad.js';
import { depthwiseConv2dBackpropFilter } from './depthwise-conv2d-backprop-filter.js';
import { depthwiseConv2dBackpropInput } from './depthwise-conv2d-backprop-input.js';
import { matMulPlainOperands } from './mat-mul.js';
import { type MaxPoolGradAttrs, maxPoolGrad } from './max-pool-grad.js';
import { type FastKernel, KernelOverrides } from './registry.js';
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

const filterGrad = nhwcOrStock((inputs, name, backend, attrs) =>
  conv2dBackpropFilter(
    name,
    backend,
    inputs.x!,
    inputs.dy!,
    attrs as unknown as Conv2DBackpropFilterAttrs,
  ),
);
const inputGrad = nhwcOrStock((inputs, name, backend, attrs) =>
  conv2dBackpropInput(
    name,
    backend,
    inputs.dy!,
    inputs.filter!,
    attrs as unknown as Conv2DBackpropInputAttrs,
  ),
);

const depthwiseFilterGrad = nhwcOrStock((inputs, name, backend, attrs) =>
  depthwiseConv2dBackpropFilter(
    name,
    backend,
    inputs.x!,
    inputs.dy!,
    attrs as unknown as Conv2DBackpropFilterAttrs,
  ),
);
const depthwiseInputGrad = nhwcOrStock((inputs, name, backend, attrs) =>
  depthwiseConv2dBackpropInput(
    name,
    backend,
    inputs.dy!,
    inputs.filter!,
    attrs as unknown as Conv2DBackpropInputAttrs,
  ),
);

const withStock =
  (
    body: (
      name: string,
      backend: object,
      inputs: tf.NamedTensorInfoMap,
      attrs: tf.NamedAttrMap,
      stock: tf.KernelConfig,
    ) => tf.TensorInfo,
  ): FastKernel['kernelFunc'] =>
  (name, { inputs, backend, attrs = {} }, stock) => {
    if (!stock) throw new Error(`frugal fast kernels: backend '${name}' has no stock kernel`);
    return body(name, backend, inputs, attrs, stock);
  };

const overrides = new KernelOverrides(
  [
    { kernelName: 'Conv2DBackpropFilter', backends: FAST_KERNEL_BACKENDS, kernelFunc: filterGrad },
    { kernelName: 'Conv2DBackpropInput', backends: FAST_KERNEL_BACKENDS, kernelFunc: inputGrad },
    {
      kernelName: FAST_CONV2D_BACKPROP_FILTER,
      backends: FAST_KERNEL_BACKENDS,
      kernelFunc: filterGrad,
    },
    {
      kernelName: FAST_CONV2D_BACKPROP_INPUT,
      backends: FAST_KERNEL_BACKENDS,
      kernelFunc: inputGrad,
    },
    {
      kernelName: 'DepthwiseConv2dNativeBackpropFilter',
      backends: FAST_KERNEL_BACKENDS,
      kernelFunc: depthwiseFilterGrad,
    },
    {
      kernelName: 'DepthwiseConv2dNativeBackpropInput',
      backends: FAST_KERNEL_BACKENDS,
      kernelFunc: depthwiseInputGrad,
    },
    {
      kernelName: FAST_DEPTHWISE_BACKPROP_FILTER,
      backends: FAST_KERNEL_BACKENDS,
      kernelFunc: depthwiseFilterGrad,
    },
    {
      kernelName: FAST_DEPTHWISE_BACKPROP_INPUT,
      backends: FAST_KERNEL_BACKENDS,
      kernelFunc: depthwiseInputGrad,
    },
    {
      kernelName: 'MaxPoolGrad',
      backends: FAST_KERNEL_BACKENDS,
      kernelFunc: (name, { inputs, backend, attrs = {} }) =>
        maxPoolGrad(name, backend, inputs.dy!, inputs.input!, attrs as unknown as MaxPoolGradAttrs),
    },
    {
      kernelName: 'Sum',
      backends: FAST_KERNEL_BACKENDS,
      kernelFunc: (name, { inputs, backend, attrs = {} }, stock) => {
        const x = inputs.x!;
        const count = leadingAxes(x.shape, attrs.axis as number | number[]);
        if (x.dtype === 'float32' && count !== undefined && count > 0) {
          return sumLeading(name, backend, x, count, attrs.keepDims === true);
        }
        if (!stock) throw new Error(`frugal fast kernels: backend '${name}' has no Sum kernel`);
        return stock.kernelFunc({ inputs, backend, attrs }) as tf.TensorInfo;
      },
    },
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
    { kernelName: '_FusedMatMul', backends: ['wasm'], kernelFunc: withStock(matMulPlainOperands) },
  ],
  [
    { kernelName: 'Conv2D', config: conv2dGradConfig },
    { kernelName: 'DepthwiseConv2dNative', config: depthwiseConv2dGradConfig },
    { kernelName: 'Tile', config: tileGradConfig },
  ],
);

/**
 * Registers frugal's fast training kernels with tfjs (for the `cpu` and `wasm` backends) and
 * its gradient overrides. Idempotent; undo with `useStockKernels()`.
 */
export function useFastKernels(): void {
  overrides.install();
}

/** Puts back the kernels and gradients that were registered before `useFastKernels()`. */
export function useStockKernels(): void {
  overrides.uninstall();
}

export function fastKernelsActive(): boolean {
  return overrides.installed;
}
