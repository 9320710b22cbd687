import type { Rng } from '../../engine/random.js';
import { readCodeAt, writeCodeAt } from './pack.js';
import { checkSampleRange, GROUP_SIZE, groupRange, groupsPerSample } from './quantize.js';
import { MAX_SAMPLE_BITS } from './sample-bits.js';

/**
 * A tensor quantized per group of `GROUP_SIZE` values (per sample, tail padded) like
 * `QuantizedGroups`, but each sample with its own width `sampleBits[i]` (1..8): sample i's codes
 * are a contiguous bit stream of `groups x GROUP_SIZE x sampleBits[i]` bits (whole words), so
 * widths 3, 5, 6 and 7 cost exactly their bits too.
 */
export interface SampleBitsGroups {
  sampleBits: Uint8Array;
  samples: number;
  perSample: number;
  /** First word of each sample's codes, and (last entry) the total word count. */
  wordStarts: Int32Array;
  words: Int32Array;
  mins: Float32Array;
  scales: Float32Array;
}

/** Word offsets of each sample's codes (length samples + 1). */
export function sampleWordStarts(sampleBits: ArrayLike<number>, perSample: number): Int32Array {
  const wordsPerBit = (groupsPerSample(perSample) * GROUP_SIZE) / 32;
  const starts = new Int32Array(sampleBits.length + 1);
  for (let i = 0; i < sampleBits.length; i++) {
    const b = sampleBits[i];
    if (!Number.isInteger(b) || b < 1 || b > MAX_SAMPLE_BITS)
      throw new Error(`sample ${i}: bits must be an integer in 1..8, got ${b}`);
    starts[i + 1] = starts[i] + b * wordsPerBit;
  }
  return starts;
}

/**
 * Zeroed storage for samples quantized to `sampleBits[i]` bits each. With `leadingWords`, `words`
 * is a view that starts that many words into its buffer (room for a header in the same array).
 */
export function allocateSampleGroups(
  sampleBits: Uint8Array,
  perSample: number,
  leadingWords = 0,
): SampleBitsGroups {
  const wordStarts = sampleWordStarts(sampleBits, perSample);
  // Bit positions are 32-bit unsigned integers in the packer.
  if (wordStarts[sampleBits.length] > 2 ** 27)
    throw new Error(
      `per-sample codes of ${wordStarts[sampleBits.length]} words exceed 2^32 bits: use smaller batches`,
    );
  const nGroups = sampleBits.length * groupsPerSample(perSample);
  return {
    sampleBits,
    samples: sampleBits.length,
    perSample,
    wordStarts,
    words: new Int32Array(leadingWords + wordStarts[sampleBits.length]).subarray(leadingWords),
    mins: new Float32Array(nGroups),
    scales: new Float32Array(nGroups),
  };
}

/**
 * Quantization cost of each of the whole samples in `values` (row-major): sum over its groups of
 * (values in the group) x range^2 / 4, the bound on its summed rounding variance at 1 level
 * (ActNN's C_i before the gradient-norm factor). Written to `out` from index `first`.
 */
export function sampleRangeCosts(
  values: ArrayLike<number>,
  perSample: number,
  out: Float64Array,
  first: number,
): void {
  const samples = values.length / perSample;
  const range = new Float64Array(2);
  for (let s = 0; s < samples; s++) {
    let c = 0;
    for (let start = s * perSample; start < (s + 1) * perSample; start += GROUP_SIZE) {
      const end = Math.min(start + GROUP_SIZE, (s + 1) * perSample);
      groupRange(values, start, end, range);
      c += ((end - start) * (range[1] - range[0]) ** 2) / 4;
    }
    out[first + s] = c;
  }
}

/**
 * Quantizes the whole samples `first` .. held in `values` into `q` with stochastic rounding at
 * each sample's width: code = floor((x - min) / scale + u), u ~ U[0,1), unbiased.
 */
export function quantizeSampleBitsInto(
  values: ArrayLike<number>,
  q: SampleBitsGroups,
  first: number,
  rng: Rng,
): void {
  const { perSample, words, mins, scales } = q;
  const samples = values.length / perSample;
  if (!Number.isInteger(samples) || first < 0 || first + samples > q.samples)
    throw new Error(
      `quantizeSampleBitsInto: ${values.length} values are not whole samples ${first}..`,
    );
  const gps = groupsPerSample(perSample);
  const range = new Float64Array(2);
  for (let s = 0; s < samples; s++) {
    const bits = q.sampleBits[first + s];
    const levels = (1 << bits) - 1;
    const base = s * perSample;
    for (let g = 0; g < gps; g++) {
      const start = base + g * GROUP_SIZE;
      const end = Math.min(start + GROUP_SIZE, base + perSample);
      groupRange(values, start, end, range);
      const gi = (first + s) * gps + g;
      mins[gi] = range[0];
      scales[gi] = Math.fround((range[1] - range[0]) / levels);
      if (scales[gi] === 0) continue;
      const lo = mins[gi];
      const inv = 1 / scales[gi];
      const bit0 = (q.wordStarts[first + s] + (g * GROUP_SIZE * bits) / 32) * 32;
      for (let i = start; i < end; i++) {
        let c = Math.floor((values[i] - lo) * inv + rng());
        if (c < 0) c = 0;
        else if (c > levels) c = levels;
        writeCodeAt(words, bit0 + (i - start) * bits, c, bits);
      }
    }
  }
}

/** Reconstructs samples `first` .. `first + count - 1` (count x perSample values). */
export function dequantizeSampleBits(
  q: SampleBitsGroups,
  first: number,
  count: number,
): Float32Array {
  const { samples, perSample, words, mins, scales } = q;
  checkSampleRange('dequantizeSampleBits', first, count, samples);
  const gps = groupsPerSample(perSample);
  const out = new Float32Array(count * perSample);
  for (let s = first; s < first + count; s++) {
    const bits = q.sampleBits[s];
    const base = (s - first) * perSample;
    for (let g = 0; g < gps; g++) {
      const gi = s * gps + g;
      const start = base + g * GROUP_SIZE;
      const end = Math.min(start + GROUP_SIZE, base + perSample);
      const bit0 = (q.wordStarts[s] + (g * GROUP_SIZE * bits) / 32) * 32;
      for (let i = start; i < end; i++)
        out[i] = mins[gi] + readCodeAt(words, bit0 + (i - start) * bits, bits) * scales[gi];
    }
  }
  return out;
}
