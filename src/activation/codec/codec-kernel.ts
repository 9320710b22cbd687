import type { Rng } from '../../engine/random.js';
import {
  type ActivationCodecKernel,
  activationCodec,
  recordActivationCodec,
} from '../../engine/settings.js';
import { tryWasmKernels } from '../../wasm/module.js';
import { dequantizeSamplesInto, type QuantizedGroups, quantizeSamplesInto } from './quantize.js';
import { dequantizeSamplesIntoWasm, quantizeSamplesIntoWasm } from './quantize-wasm.js';

export { type ActivationCodecKernel, activationCodec };

/**
 * Which code quantizes and restores saved activations and packs and applies the ReLU masks and
 * max-pool argmax codes: 'js' (any engine), 'wasm' (frugal's wasm module, bit-identical to 'js';
 * the default where that module runs), 'wasm-simd' (the SIMD quantizer: unbiased with the
 * same variance, its own dither stream). A process-wide setting (engine/settings.ts).
 */
const KERNELS: readonly ActivationCodecKernel[] = ['js', 'wasm', 'wasm-simd'];

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
  recordActivationCodec(kernel);
}

/** `quantizeSamplesInto` through the chosen kernel. */
export function quantizeChunk(
  values: ArrayLike<number>,
  q: QuantizedGroups,
  first: number,
  rng: Rng,
): void {
  const k = activationCodec();
  if (k === 'js' || !(values instanceof Float32Array)) quantizeSamplesInto(values, q, first, rng);
  else quantizeSamplesIntoWasm(values, q, first, rng, k === 'wasm' ? 'exact' : 'simd');
}

/** `dequantizeSamplesInto` through the chosen kernel. */
export function restoreChunk(
  q: QuantizedGroups,
  first: number,
  count: number,
  out: Float32Array,
): void {
  const k = activationCodec();
  if (k === 'js') dequantizeSamplesInto(q, first, count, out);
  else dequantizeSamplesIntoWasm(q, first, count, out, k === 'wasm' ? 'exact' : 'simd');
}
