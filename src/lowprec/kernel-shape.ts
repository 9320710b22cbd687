import type * as tf from '@tensorflow/tfjs';

/** The two layer kinds of the QAT and low-precision layers. */
export type KernelKind = 'dense' | 'conv2d';

/**
 * Checks a layer's kind and kernel shape ([in, out] for dense, [kh, kw, in, out] for conv2d,
 * positive integers); `where` (the layer) starts each error message.
 */
export function checkKernelShape(where: string, kind: unknown, kernelShape: unknown): void {
  if (kind !== 'dense' && kind !== 'conv2d')
    throw new Error(`${where}: kind must be 'dense' or 'conv2d', got ${String(kind)}`);
  const rank = kind === 'dense' ? 2 : 4;
  if (
    !Array.isArray(kernelShape) ||
    kernelShape.length !== rank ||
    kernelShape.some((d) => !Number.isInteger(d) || d < 1)
  )
    throw new Error(
      `${where}: kernelShape must be ${rank} positive integers, got ${String(kernelShape)}`,
    );
}

/** Checks that inputs of `shape` fit the kernel (last axis = its input channels; rank 4 for conv2d). */
export function checkKernelInput(
  where: string,
  kind: KernelKind,
  kernelShape: readonly number[],
  shape: tf.Shape,
): void {
  const inC = kernelShape[kernelShape.length - 2];
  if (shape[shape.length - 1] !== inC || (kind === 'conv2d' && shape.length !== 4))
    throw new Error(`${where}: input shape [${shape}] does not fit kernel [${kernelShape}]`);
}
