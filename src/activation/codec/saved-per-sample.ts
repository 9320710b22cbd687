import type * as tf from '@tensorflow/tfjs';
import { forEachRowChunk } from '../execution/row-chunks.js';
import type { PackedBits } from './bits.js';
import { tensorFromJs, withValues } from './js-memory.js';
import { packCodes, packedWords, unpackCodes } from './pack.js';
import {
  allocateSampleGroups,
  dequantizeSampleBits,
  quantizeSampleBitsInto,
  type SampleBitsGroups,
  sampleRangeCosts,
  sampleWordStarts,
} from './quantize-per-sample.js';
import { allocateSampleBits } from './sample-bits.js';
import type { Saved } from './saved.js';
import { nextRng } from './seed.js';

/** Bits of each sample's width in the header (widths 1..8 fit in 4). */
const HEADER_BITS = 4;

/**
 * Keeps `x` (leading axis = samples) quantized per group with per-sample bits (ActNN): each
 * sample's width comes from `allocateSampleBits` on its group ranges, averaging `avgBits`. Saved
 * as one int32 tensor (the widths, 4 bits each, then every sample's codes) and one float32 tensor
 * of per-group mins and scales, so the memory meter counts all of it. Costs one more read of x
 * than uniform bits (the ranges) and O(N log N) for the allocation.
 */
export function saveQuantizedPerSample(x: tf.Tensor, avgBits: PackedBits): Saved<tf.Tensor> {
  const shape = x.shape.slice();
  const samples = shape[0];
  if (x.rank < 2 || samples < 1)
    throw new Error(`per-sample bits need a leading batch axis, got shape [${shape}]`);
  const perSample = x.size / samples;
  const costs = new Float64Array(samples);
  forEachRowChunk(x, (v, first) => sampleRangeCosts(v, perSample, costs, first));
  const headerWords = packedWords(samples, HEADER_BITS);
  const q = allocateSampleGroups(allocateSampleBits(costs, avgBits), perSample, headerWords);
  const rng = nextRng();
  forEachRowChunk(x, (v, first) => quantizeSampleBitsInto(v, q, first, rng));
  // The widths go in front of the codes, in the same array.
  const words = new Int32Array(q.words.buffer);
  words.set(packCodes(q.sampleBits, HEADER_BITS), 0);
  const meta = new Float32Array(q.mins.length * 2);
  meta.set(q.mins, 0);
  meta.set(q.scales, q.mins.length);
  const rows = (s: tf.Tensor[], first: number, count: number) =>
    withValues(s[0], () =>
      withValues(s[1], () => {
        const values = dequantizeSampleBits(restore(s, samples, perSample), first, count);
        return tensorFromJs(values, [count, ...shape.slice(1)]);
      }),
    );
  return {
    tensors: [tensorFromJs(words, [words.length], 'int32'), tensorFromJs(meta, [meta.length])],
    restore: (s) => rows(s, 0, samples),
    restoreRows: rows,
  };
}

/** The quantized form back from the two saved tensors. */
function restore(s: tf.Tensor[], samples: number, perSample: number): SampleBitsGroups {
  const all = s[0].dataSync() as Int32Array;
  const headerWords = packedWords(samples, HEADER_BITS);
  const sampleBits = unpackCodes(all.subarray(0, headerWords), HEADER_BITS, samples);
  const meta = s[1].dataSync() as Float32Array;
  const n = meta.length / 2;
  return {
    sampleBits,
    samples,
    perSample,
    wordStarts: sampleWordStarts(sampleBits, perSample),
    words: all.subarray(headerWords),
    mins: meta.subarray(0, n),
    scales: meta.subarray(n),
  };
}
