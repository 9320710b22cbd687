import type * as tf from '@tensorflow/tfjs';
import { type Conv2DBackpropFilterAttrs, conv2dBackpropFilter } from './conv2d-backprop-filter.js';
import { type Conv2DBackpropInputAttrs, conv2dBackpropInput } from './conv2d-backprop-input.js';
import {
  conv2dGradConfig,
  FAST_CONV2D_BACKPROP_FILTER,
  FAST_CONV2D_BACKPROP_INPUT,
} from './conv2d-grad.js';
import { type FastKernel, KernelOverrides } from './registry.js';

/** Backends that get frugal's kernels (they compose the backend's own forward kernels). */
export const FAST_KERNEL_BACKENDS = ['cpu', 'wasm'] as const;

/** NCHW (or anything else frugal does not handle) goes to the stock kernel when there is one. */
function nhwcOrStock(
  body: (
    inputs: tf.NamedTensorInfoMap,
    backendName: string,
    backend: object,
    attrs: tf.NamedAttrMap,
  ) => tf.TensorInfo,
): FastKernel['kernelFunc'] {
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

const overrides = new KernelOverrides(
  FAST_KERNEL_BACKENDS,
  [
    { kernelName: 'Conv2DBackpropFilter', kernelFunc: filterGrad },
    { kernelName: 'Conv2DBackpropInput', kernelFunc: inputGrad },
    { kernelName: FAST_CONV2D_BACKPROP_FILTER, kernelFunc: filterGrad },
    { kernelName: FAST_CONV2D_BACKPROP_INPUT, kernelFunc: inputGrad },
  ],
  [{ kernelName: 'Conv2D', config: conv2dGradConfig }],
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
