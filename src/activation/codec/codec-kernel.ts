import type { Rng } from '../../engine/random.js';
import { tryWasmKernels } from '../../wasm/module.js';
import { dequantizeSamplesInto, type QuantizedGroups, quantizeSamplesInto } from './quantize.js';
import { dequantizeSamplesIntoWasm, quantizeSamplesIntoWasm } from './quantize-wasm.js';

/**
 * Which code quantizes and restores saved activations: 'js' (default; any backend), 'wasm'
 * (frugal's wasm module, bit-identical to 'js'), 'wasm-simd' (the SIMD kernels: unbiased with the
 * same variance, its own dither stream). A process-wide setting, like the activation seed.
 */
export type ActivationCodecKernel = 'js' | 'wasm' | 'wasm-simd';
const KERNELS: readonly ActivationCodecKernel[] = ['js', 'wasm', 'wasm-simd'];

let current: ActivationCodecKernel = 'js';

/** Chooses the codec kernel; a wasm kernel the engine cannot run is an error here, not later. */
export function setActivationCodec(kernel: ActivationCodecKernel): void {
  if (!KERNELS.includes(kernel))
    throw new Error(
      `setActivationCodec: kernel must be one of ${KERNELS.join(', ')}, got ${String(kernel)}`,
    );
  if (kernel !== 'js' && tryWasmKernels() === null)
    throw new Error(
      `setActivationCodec: '${kernel}' needs WebAssembly SIMD, which is missing here`,
    );
  current = kernel;
}

export function activationCodec(): ActivationCodecKernel {
  return current;
}

/** `quantizeSamplesInto` through the chosen kernel. */
export function quantizeChunk(
  values: ArrayLike<number>,
  q: QuantizedGroups,
  first: number,
  rng: Rng,
): void {
  if (current === 'js' || !(values instanceof Float32Array))
    quantizeSamplesInto(values, q, first, rng);
  else quantizeSamplesIntoWasm(values, q, first, rng, current === 'wasm' ? 'exact' : 'simd');
}

/** `dequantizeSamplesInto` through the chosen kernel. */
export function restoreChunk(
  q: QuantizedGroups,
  first: number,
  count: number,
  out: Float32Array,
): void {
  if (current === 'js') dequantizeSamplesInto(q, first, count, out);
  else dequantizeSamplesIntoWasm(q, first, count, out, current === 'wasm' ? 'exact' : 'simd');
}
