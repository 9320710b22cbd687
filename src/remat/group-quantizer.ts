import type { Rng } from '../engine/random.js';

/** Values quantized per group to `bits`-bit codes, packed 32/bits codes per 32-bit word. */
export interface PackedValues {
  size: number;
  bits: number;
  groupSize: number;
  /** Per group: the minimum and the step between levels. */
  mins: Float32Array;
  scales: Float32Array;
  codes: Uint32Array;
}

export const QUANTIZER_BITS = [1, 2, 4, 8] as const;

/** Bytes a packed tensor holds (codes and per-group min and scale). */
export function packedBytes(p: PackedValues): number {
  return p.codes.byteLength + p.mins.byteLength + p.scales.byteLength;
}

/**
 * Per-group stochastic quantization (ActNN): in each group of `groupSize` values,
 * code = floor((x - min) / scale + U[0,1)) clamped to [0, 2^bits - 1], scale = range / (2^bits - 1).
 * Stochastic rounding makes the dequantized value unbiased: E[dequantize(quantize(x))] = x.
 */
export function quantizeGroups(
  values: ArrayLike<number>,
  bits: number,
  rng: Rng,
  groupSize = 256,
): PackedValues {
  if (!(QUANTIZER_BITS as readonly number[]).includes(bits))
    throw new Error(`quantizer bits must be one of ${QUANTIZER_BITS.join(', ')}, got ${bits}`);
  if (!Number.isInteger(groupSize) || groupSize < 1)
    throw new Error(`quantizer group size must be a positive integer, got ${groupSize}`);
  const n = values.length;
  const groups = Math.ceil(n / groupSize);
  const levels = (1 << bits) - 1;
  const perWord = 32 / bits;
  const mins = new Float32Array(groups);
  const scales = new Float32Array(groups);
  const codes = new Uint32Array(Math.ceil(n / perWord));
  for (let g = 0; g < groups; g++) {
    const start = g * groupSize;
    const end = Math.min(n, start + groupSize);
    let lo = Number.POSITIVE_INFINITY;
    let hi = Number.NEGATIVE_INFINITY;
    for (let i = start; i < end; i++) {
      const v = values[i];
      if (!Number.isFinite(v)) throw new Error(`cannot quantize a non-finite value (${v})`);
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    mins[g] = lo;
    // Scale from the float32 min so dequantization (in float32) sees the same numbers.
    const scale = (hi - mins[g]) / levels;
    scales[g] = scale;
    const inv = scales[g] > 0 ? 1 / scales[g] : 0;
    for (let i = start; i < end; i++) {
      let c = Math.floor((values[i] - mins[g]) * inv + rng());
      if (c < 0) c = 0;
      else if (c > levels) c = levels;
      codes[(i / perWord) | 0] |= c << ((i % perWord) * bits);
    }
  }
  return { size: n, bits, groupSize, mins, scales, codes };
}

export function dequantizeGroups(p: PackedValues): Float32Array {
  const out = new Float32Array(p.size);
  const perWord = 32 / p.bits;
  const mask = (1 << p.bits) - 1;
  for (let i = 0; i < p.size; i++) {
    const g = (i / p.groupSize) | 0;
    const c = (p.codes[(i / perWord) | 0] >>> ((i % perWord) * p.bits)) & mask;
    out[i] = p.mins[g] + c * p.scales[g];
  }
  return out;
}
