import { packCodes, packedWords, unpackCodes } from '../quantize/pack.js';
import {
  channelRanges,
  checkQuantSpec,
  paramsFromRanges,
  type QuantGranularity,
  type QuantScheme,
  quantizeWith,
} from '../quantize/uniform.js';
import { checkNM, combinationTable } from '../sparsity/combinations.js';
import { checkGroups, groupIndex, kernelLayout } from '../sparsity/kernel-layout.js';
import { isNMMask, magnitudeNMMask } from '../sparsity/nm-mask.js';

/**
 * How a packed layer stores its kernel: `bits` 0 keeps float32 values, 2..8 stores uniform codes
 * packed in int32 words with one scale and offset per tensor or output channel; `n`/`m` > 0
 * keeps only N of every M weights along the input channels, storing the kept values plus one
 * packed subset rank per group. Plain JSON-friendly data (it is part of the layer config).
 */
export interface KernelCodec {
  bits: number;
  scheme: QuantScheme;
  granularity: QuantGranularity;
  n: number;
  m: number;
}

export const FLOAT_CODEC: KernelCodec = {
  bits: 0,
  scheme: 'symmetric',
  granularity: 'channel',
  n: 0,
  m: 0,
};

export interface WeightSpec {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
}

/** The stored arrays, in the order of `codecWeightSpecs`. */
export type EncodedKernel = (Float32Array | Int32Array)[];

export function checkCodec(c: KernelCodec, where: string): void {
  if (c.bits !== 0) checkQuantSpec(c, where);
  if (c.n !== 0 || c.m !== 0) checkNM(c.n, c.m, where);
}

function isSparse(c: KernelCodec): boolean {
  return c.m > 0;
}

/** Number of stored kernel values (all, or N/M of them). */
export function storedValues(c: KernelCodec, shape: readonly number[]): number {
  const l = kernelLayout(shape);
  return isSparse(c) ? (l.size / c.m) * c.n : l.size;
}

/** Names, shapes and dtypes of the weights holding a kernel under a codec. */
export function codecWeightSpecs(c: KernelCodec, shape: readonly number[]): WeightSpec[] {
  const l = kernelLayout(shape);
  if (isSparse(c)) checkGroups(l, c.m, 'packed kernel');
  const count = storedValues(c, shape);
  const specs: WeightSpec[] = [];
  if (c.bits === 0) specs.push({ name: 'values', shape: [count], dtype: 'float32' });
  else {
    const ch = c.granularity === 'channel' ? l.outChannels : 1;
    specs.push({ name: 'codes', shape: [packedWords(count, c.bits)], dtype: 'int32' });
    specs.push({ name: 'scale', shape: [ch], dtype: 'float32' });
    specs.push({ name: 'offset', shape: [ch], dtype: 'float32' });
  }
  if (isSparse(c)) {
    const bits = combinationTable(c.n, c.m).bits;
    specs.push({ name: 'index', shape: [packedWords(l.size / c.m, bits)], dtype: 'int32' });
  }
  return specs;
}

/** Optional inputs to `encodeKernel`. */
export interface EncodeOptions {
  /** N:M mask to use (1 = kept); default the magnitude mask. Must be valid N:M. */
  mask?: ArrayLike<number>;
  /** Quantization ranges per channel (or one) instead of min/max, e.g. from calibration. */
  ranges?: { lo: ArrayLike<number>; hi: ArrayLike<number> };
}

/** The kept values (group order) and the group ranks of an N:M mask. */
function gatherKept(
  kernel: ArrayLike<number>,
  shape: readonly number[],
  c: KernelCodec,
  mask: ArrayLike<number>,
): { values: Float32Array; ranks: Uint16Array } {
  const l = kernelLayout(shape);
  const table = combinationTable(c.n, c.m);
  const groups = l.size / c.m;
  const values = new Float32Array(groups * c.n);
  const ranks = new Uint16Array(groups);
  for (let gi = 0; gi < groups; gi++) {
    let bitsMask = 0;
    let k = 0;
    for (let j = 0; j < c.m; j++) {
      const idx = groupIndex(l, c.m, gi, j);
      if (mask[idx]) {
        bitsMask |= 1 << j;
        values[gi * c.n + k++] = kernel[idx];
      }
    }
    ranks[gi] = table.rankOfMask.get(bitsMask) ?? 0;
  }
  return { values, ranks };
}

/** Encodes a float kernel into the arrays a packed layer stores. */
export function encodeKernel(
  kernel: ArrayLike<number>,
  shape: readonly number[],
  c: KernelCodec,
  options: EncodeOptions = {},
): EncodedKernel {
  checkCodec(c, 'packed kernel');
  const l = kernelLayout(shape);
  if (kernel.length !== l.size)
    throw new Error(`kernel has ${kernel.length} values but shape [${shape}] needs ${l.size}`);
  for (let i = 0; i < kernel.length; i++) {
    if (!Number.isFinite(kernel[i]))
      throw new Error(`cannot pack a kernel with a non-finite weight (${kernel[i]} at ${i})`);
  }
  let values: ArrayLike<number> = kernel;
  let ranks: Uint16Array | undefined;
  let channelOf = (i: number) => i % l.outChannels;
  if (isSparse(c)) {
    checkGroups(l, c.m, 'packed kernel');
    const mask = options.mask ?? magnitudeNMMask(kernel, shape, c.n, c.m);
    if (!isNMMask(mask, shape, c.n, c.m))
      throw new Error(`packed kernel: the mask is not a valid ${c.n}:${c.m} mask`);
    const kept = gatherKept(kernel, shape, c, mask);
    values = kept.values;
    ranks = kept.ranks;
    channelOf = (i: number) => Math.floor(i / c.n) % l.outChannels;
  }
  const out: EncodedKernel = [];
  if (c.bits === 0) out.push(Float32Array.from(values));
  else {
    const perChannel = c.granularity === 'channel';
    const of = perChannel ? channelOf : () => 0;
    const { lo, hi } = options.ranges ?? channelRanges(values, perChannel ? l.outChannels : 1, of);
    const params = paramsFromRanges(lo, hi, c.bits, c.scheme);
    out.push(
      packCodes(quantizeWith(values, params, c.scheme, of), c.bits),
      params.scale,
      params.offset,
    );
  }
  if (ranks) out.push(packCodes(ranks, combinationTable(c.n, c.m).bits));
  return out;
}

/** Decodes stored arrays back into the float kernel (pruned weights are 0). */
export function decodeKernel(
  encoded: readonly ArrayLike<number>[],
  shape: readonly number[],
  c: KernelCodec,
): Float32Array {
  const l = kernelLayout(shape);
  const count = storedValues(c, shape);
  let values: Float32Array;
  let next = 0;
  if (c.bits === 0) values = Float32Array.from(encoded[next++]);
  else {
    const codes = unpackCodes(encoded[next++], c.bits, count);
    const scale = encoded[next++];
    const offset = encoded[next++];
    values = new Float32Array(count);
    const perChannel = scale.length > 1;
    const per = isSparse(c) ? c.n : 1;
    for (let i = 0; i < count; i++) {
      const ch = perChannel ? Math.floor(i / per) % l.outChannels : 0;
      values[i] = codes[i] * scale[ch] + offset[ch];
    }
  }
  if (!isSparse(c)) return values;
  const table = combinationTable(c.n, c.m);
  const groups = l.size / c.m;
  const ranks = unpackCodes(encoded[next], table.bits, groups);
  const kernel = new Float32Array(l.size);
  for (let gi = 0; gi < groups; gi++) {
    const subset = table.subsets[ranks[gi]];
    if (!subset) throw new Error(`packed kernel: group rank ${ranks[gi]} is out of range`);
    for (let k = 0; k < c.n; k++) kernel[groupIndex(l, c.m, gi, subset[k])] = values[gi * c.n + k];
  }
  return kernel;
}

/** Bytes the stored arrays take (4 per element: int32 words and float32 values). */
export function encodedBytes(encoded: EncodedKernel): number {
  return encoded.reduce((s, a) => s + a.byteLength, 0);
}
