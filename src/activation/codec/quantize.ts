import type { Rng } from '../../engine/random.js';
import type { PackedBits } from './bits.js';

/** Values per quantization group (ActNN): each group has its own min and scale. */
export const GROUP_SIZE = 256;

/**
 * A tensor quantized per group with stochastic rounding. Each sample is flattened and split into
 * groups of `GROUP_SIZE` values (the tail padded), so groups never straddle two samples.
 */
export interface QuantizedGroups {
  bits: PackedBits;
  samples: number;
  /** Values of one sample (product of the non-batch dimensions). */
  perSample: number;
  /** Packed codes, `GROUP_SIZE * bits / 32` words per group. */
  words: Int32Array;
  /** Per-group minimum and step: value = min + code * scale. */
  mins: Float32Array;
  scales: Float32Array;
}

export function groupsPerSample(perSample: number): number {
  return Math.ceil(perSample / GROUP_SIZE);
}

/** Bytes the quantized form holds: packed words plus float32 min and scale per group. */
export function quantizedBytes(q: QuantizedGroups): number {
  return q.words.byteLength + q.mins.byteLength + q.scales.byteLength;
}

/**
 * Quantizes `values` (samples x perSample, row-major) to `bits` bits per value with stochastic
 * rounding: code = floor((x - min) / scale + u), u ~ U[0,1), so E[min + code * scale] = x.
 */
export function quantizeGroups(
  values: ArrayLike<number>,
  samples: number,
  bits: PackedBits,
  rng: Rng,
): QuantizedGroups {
  if (!Number.isInteger(samples) || samples < 1 || values.length % samples !== 0)
    throw new Error(`quantizeGroups: ${values.length} values do not split into ${samples} samples`);
  const q = allocateGroups(samples, values.length / samples, bits);
  quantizeSamplesInto(values, q, 0, rng);
  return q;
}

/** Zeroed storage for `samples` x `perSample` values quantized to `bits` bits. */
export function allocateGroups(
  samples: number,
  perSample: number,
  bits: PackedBits,
): QuantizedGroups {
  const nGroups = samples * groupsPerSample(perSample);
  return {
    bits,
    samples,
    perSample,
    words: new Int32Array((nGroups * GROUP_SIZE * bits) / 32),
    mins: new Float32Array(nGroups),
    scales: new Float32Array(nGroups),
  };
}

/** 2^-24: turns the top 24 bits of a 32-bit state into a uniform in [0, 1). */
const U24 = 2 ** -24;

/**
 * Quantizes the samples `first` .. held in `values` (whole samples, row-major) into `q`. Calling it
 * on consecutive chunks with one `rng` gives exactly what one call on all the values gives.
 * The dither of each group comes from a 32-bit linear congruential stream seeded by one `rng()`
 * draw per group (its top 24 bits per value): unbiased to 2^-24 of a step, and a few times faster
 * than one `rng()` call per value. Codes are packed a word at a time.
 */
export function quantizeSamplesInto(
  values: ArrayLike<number>,
  q: QuantizedGroups,
  first: number,
  rng: Rng,
): void {
  const { bits, perSample, words, mins, scales } = q;
  const samples = values.length / perSample;
  if (!Number.isInteger(samples) || first < 0 || first + samples > q.samples)
    throw new Error(
      `quantizeSamplesInto: ${values.length} values are not whole samples ${first}..`,
    );
  const gps = groupsPerSample(perSample);
  const levels = (1 << bits) - 1;
  const per = 32 / bits;
  const wordsPerGroup = GROUP_SIZE / per;
  const range = new Float64Array(2);
  for (let s = 0; s < samples; s++) {
    const base = s * perSample;
    for (let g = 0; g < gps; g++) {
      const start = base + g * GROUP_SIZE;
      const end = Math.min(start + GROUP_SIZE, base + perSample);
      groupRange(values, start, end, range);
      const lo = range[0];
      const hi = range[1];
      const gi = (first + s) * gps + g;
      const scale = Math.fround((hi - lo) / levels);
      mins[gi] = lo;
      scales[gi] = scale;
      const lo32 = mins[gi];
      let state = (rng() * 4294967296) | 0;
      if (scale === 0) continue;
      const inv = 1 / scale;
      let i = start;
      for (let w = gi * wordsPerGroup; i < end; w++) {
        // Whole words in the loop bound the JIT sees; only a group's tail word stops early.
        const stop = end - i >= per ? 32 : (end - i) * bits;
        let word = 0;
        for (let shift = 0; shift < stop; shift += bits, i++) {
          state = (Math.imul(state, 1664525) + 1013904223) | 0;
          // Truncation is floor here: the argument is >= 0 up to rounding (then 0 is right).
          let c = ((values[i] - lo32) * inv + (state >>> 8) * U24) | 0;
          if (c > levels) c = levels;
          word |= c << shift;
        }
        words[w] = word;
      }
    }
  }
}

/** Writes the min and max of values[start..end) into `out`; NaN or infinite values throw. */
export function groupRange(
  values: ArrayLike<number>,
  start: number,
  end: number,
  out: Float64Array,
): void {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  let sum = 0;
  for (let i = start; i < end; i++) {
    const v = values[i];
    sum += v;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  // NaN and infinities propagate into the sum (comparisons alone would skip NaN).
  if (sum - sum !== 0) throw new Error('quantizeGroups: activation holds NaN or infinite values');
  out[0] = lo;
  out[1] = hi;
}

/** Reconstructs the values (samples x perSample) from their quantized groups. */
export function dequantizeGroups(q: QuantizedGroups): Float32Array {
  return dequantizeSamples(q, 0, q.samples);
}

/** Reconstructs samples `first` .. `first + count - 1` only (count x perSample values). */
export function dequantizeSamples(q: QuantizedGroups, first: number, count: number): Float32Array {
  const out = new Float32Array(count * q.perSample);
  dequantizeSamplesInto(q, first, count, out);
  return out;
}

/** `dequantizeSamples` writing into `out` (count x perSample values), e.g. a tensor's memory. */
export function dequantizeSamplesInto(
  q: QuantizedGroups,
  first: number,
  count: number,
  out: Float32Array,
): void {
  const { bits, samples, perSample, words, mins, scales } = q;
  if (out.length !== count * perSample)
    throw new Error(
      `dequantizeSamplesInto: output holds ${out.length} values, not ${count * perSample}`,
    );
  checkSampleRange('dequantizeSamples', first, count, samples);
  const gps = groupsPerSample(perSample);
  const per = 32 / bits;
  const wordsPerGroup = GROUP_SIZE / per;
  const mask = (1 << bits) - 1;
  for (let s = first; s < first + count; s++) {
    const base = (s - first) * perSample;
    for (let g = 0; g < gps; g++) {
      const gi = s * gps + g;
      const start = base + g * GROUP_SIZE;
      const end = Math.min(start + GROUP_SIZE, base + perSample);
      const lo = mins[gi];
      const scale = scales[gi];
      let i = start;
      for (let w = gi * wordsPerGroup; i < end; w++) {
        const word = words[w];
        const stop = Math.min(i + per, end);
        for (let shift = 0; i < stop; i++, shift += bits)
          out[i] = lo + ((word >>> shift) & mask) * scale;
      }
    }
  }
}

/** Throws unless samples `first` .. `first + count - 1` lie within 0 .. `samples - 1`. */
export function checkSampleRange(what: string, first: number, count: number, samples: number) {
  const ok = Number.isInteger(first) && Number.isInteger(count) && first >= 0 && count >= 0;
  if (!ok || first + count > samples)
    throw new Error(`${what}: samples ${first}..${first + count} not in 0..${samples}`);
}
