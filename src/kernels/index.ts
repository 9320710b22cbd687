import { recordFastKernels } from '../engine/settings.js';
import { FAST_GRADIENTS, FAST_KERNELS } from './kernel-table.js';
import { KernelOverrides } from './registry.js';

export { FAST_KERNEL_BACKENDS } from './kernel-table.js';

const overrides = new KernelOverrides(FAST_KERNELS, FAST_GRADIENTS);

/**
 * Registers frugal's fast training kernels with tfjs (for the `cpu` and `wasm` backends) and
 * its gradient overrides. Idempotent; undo with `useStockKernels()`.
 */
export function useFastKernels(): void {
  overrides.install();
  recordFastKernels(overrides.installed);
}

/** Puts back the kernels and gradients that were registered before `useFastKernels()`. */
export function useStockKernels(): void {
  overrides.uninstall();
  recordFastKernels(overrides.installed);
}
