import { recordFastKernels } from '../engine/settings.js';
import { FAST_GRADIENTS, FAST_KERNELS } from './kernel-table.js';
import { KernelOverrides } from './registry.js';

export { FAST_KERNEL_BACKENDS } from './kernel-table.js';

const overrides = new KernelOverrides(FAST_KERNELS, FAST_GRADIENTS);

/**
 * Registers frugal's fast training kernels with tfjs (for the `cpu` and `wasm` backends that are
 * registered) and its gradient overrides. Idempotent; undo with `useStockKernels()`. A backend
 * registered later gets its kernels from `initEngine` (which loads wasm), or from calling this
 * again (after importing '@tensorflow/tfjs-backend-wasm' yourself).
 */
export function useFastKernels(): void {
  overrides.install();
  recordFastKernels(overrides.installed, refreshFastKernels);
}

/** Wraps the kernels of backends registered since `useFastKernels()`, if it is in effect. */
export function refreshFastKernels(): void {
  overrides.refresh();
}

/** Puts back the kernels and gradients that were registered before `useFastKernels()`. */
export function useStockKernels(): void {
  overrides.uninstall();
  recordFastKernels(overrides.installed);
}
