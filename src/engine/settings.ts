/**
 * frugal's process-wide settings: every piece of module-level state that changes what frugal
 * computes lives here, with its setter and getter; the modules that depend on one read it from
 * here. (Caches that only save work, such as few-bit tables, and per-call bookkeeping stay with
 * their code.)
 *
 * | setting                  | default | set by                                   | read by                                           |
 * | ------------------------ | ------- | ---------------------------------------- | ------------------------------------------------- |
 * | default seed             | 0       | `initEngine({seed})`, `setDefaultSeed`   | zoo models, data loaders, `validateTrainConfig`   |
 * | activation random stream | seed 0  | `seedActivationRng` (`ActConfig.seed`)   | stochastic rounding, RMM projections, dropout     |
 * | backward chunk bytes     | 1 MiB   | `setBackwardChunkBytes`                  | compressed layers' chunked quantize and rebuild   |
 * | auto forward chunk bytes | 640 KiB | constant                                 | `forwardChunk: 'auto'` of compressed training     |
 * | fast kernels installed   | no      | `useFastKernels` / `useStockKernels`     | `fastKernelsActive` (data-parallel workers copy it) |
 * | activation codec kernel  | 'wasm'* | `setActivationCodec` (checks it)         | saved activations, masks, max-pool codes          |
 * | N:M gradient mask path   | 'fast'  | `setMaskPath`                            | `maskAlongAxis` (src/sparse/mvue.ts)              |
 *
 * (*) 'wasm' (bit-identical to the JS codec) where frugal's wasm module runs, else 'js'.
 * All of it is per JavaScript realm: a worker thread starts from the defaults.
 */

import { tryWasmKernels } from '../wasm/module.js';

let defaultSeedValue = 0;

/** Sets the default seed of zoo models, data loaders and training when a config gives none. */
export function setDefaultSeed(seed: number): void {
  if (!Number.isInteger(seed)) throw new Error(`seed must be an integer, got ${seed}`);
  defaultSeedValue = seed;
}

export function defaultSeed(): number {
  return defaultSeedValue;
}

const activationStream = { base: 0x9e3779b9, counter: 0 };

/** Sets the seed of the stream that stochastic rounding and random projections draw from. */
export function seedActivationRng(seed: number): void {
  activationStream.base = (seed * 0x9e3779b1) >>> 0;
  activationStream.counter = 0;
}

/** The next 32-bit seed of the activation stream; each compressed tensor gets its own. */
export function nextActivationSeed(): number {
  activationStream.counter++;
  return (activationStream.base ^ Math.imul(activationStream.counter, 0x85ebca6b)) >>> 0;
}

let backwardChunk = 1 << 20;

/**
 * Sets how many bytes of one tensor a chunked pass may hold in full precision at once (about
 * 1 MiB by default): the compressed layers read activations for quantization, and rebuild them in
 * the backward, that many bytes at a time. Smaller chunks lower the step's peak and add calls.
 */
export function setBackwardChunkBytes(bytes: number): void {
  if (!Number.isFinite(bytes) || bytes < 1)
    throw new Error(`backward chunk bytes must be a positive number, got ${bytes}`);
  backwardChunk = bytes;
}

export function backwardChunkBytes(): number {
  return backwardChunk;
}

/**
 * Default chunk size of 'auto': the widest layer output of one chunk takes at most 640 KiB (4
 * samples of the zoo CNN). Measured on wasm, 2-bit CNN (2026-12-07): chunks of 4 instead of 14
 * cut the forward+backward peak at batch 32 from 8.1 to 2.8 MB for +3% step time at batch 32 and
 * 128; chunks of 3 cost +7% and of 2 +18%, so smaller is not the default.
 */
export const AUTO_FORWARD_CHUNK_BYTES = 640 * 2 ** 10;

let fastKernels = false;

/** Which code quantizes and restores saved activations (see activation/codec/codec-kernel.ts). */
export type ActivationCodecKernel = 'js' | 'wasm' | 'wasm-simd';
/** null: not chosen, so 'wasm' (bit-identical to 'js') where frugal's module runs, else 'js'. */
let codecKernel: ActivationCodecKernel | null = null;

/** Records the codec kernel; `setActivationCodec` validates and calls it. */
export function recordActivationCodec(kernel: ActivationCodecKernel): void {
  codecKernel = kernel;
}

/** The chosen codec kernel, or the default: 'wasm' when frugal's wasm module runs, else 'js'. */
export function activationCodec(): ActivationCodecKernel {
  return codecKernel ?? (tryWasmKernels() !== null ? 'wasm' : 'js');
}

/** Whether frugal's fast training kernels are registered with tfjs (see `useFastKernels`). */
export function fastKernelsActive(): boolean {
  return fastKernels;
}

/** Records the kernels' install state; called by `useFastKernels` / `useStockKernels` only. */
export function recordFastKernels(installed: boolean, refresh?: () => void): void {
  fastKernels = installed;
  if (refresh) refreshKernels = refresh;
}

let refreshKernels: () => void = () => {};

/**
 * Called by `loadWasmBackend` once a backend registered late (wasm) is there: wraps its kernels if
 * the fast kernels are installed. (The kernels register the refresh here, so engine/ does not
 * import kernels/.)
 */
export function backendRegistered(): void {
  refreshKernels();
}

/**
 * Which implementation the N:M gradient masks run: 'fast' (the default: src/sparse/mask-fast.ts
 * for `mvue` and `magnitude`) or 'reference' (group by group through `maskGroupFast`, one
 * generator call per draw). Both give the same values from the same random stream
 * (test/sparse/mask-fast.test.ts); 'reference' is there to compare against, in tests and in
 * bench/sparse-grad-step.ts (the step before and after the fast path, in one process).
 */
export type MaskPath = 'fast' | 'reference';

let maskPathValue: MaskPath = 'fast';

/** Sets the N:M mask path; returns the previous one (to restore it). */
export function setMaskPath(path: MaskPath): MaskPath {
  if (path !== 'fast' && path !== 'reference')
    throw new Error(`setMaskPath: path must be 'fast' or 'reference', got '${String(path)}'`);
  const previous = maskPathValue;
  maskPathValue = path;
  return previous;
}

export function maskPath(): MaskPath {
  return maskPathValue;
}
