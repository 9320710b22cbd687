import { fromFloat16Bits, roundToFloat16, toFloat16Bits } from './float16.js';
import { packCodes, unpackCodes } from './pack.js';

/**
 * Row-wise quantization of embedding tables: each row gets its own fp16 scale and bias (packed
 * together in one int32 word) and `bits`-bit codes; value = code * scale + bias.
 */
export interface RowwiseQuantized {
  rows: number;
  dim: number;
  bits: number;
  /** Packed codes, row-major. */
  codes: Int32Array;
  /** Per row: fp16 scale in the low 16 bits, fp16 bias in the high 16 bits. */
  scaleBias: Int32Array;
}

export interface RangeSearchOptions {
  /** Search step as a fraction of the row's range (default 1/200). */
  stepFraction?: number;
  /** Stop once this fraction of the range has been cut off (default 0.16). */
  maxShrink?: number;
}

/** Scale and bias of a range as they are stored (fp16). */
function storedParams(lo: number, hi: number, bits: number): [number, number] {
  const scale = roundToFloat16((hi - lo) / (2 ** bits - 1) || 2 ** -24);
  return [scale || 2 ** -24, roundToFloat16(lo)];
}

/** Squared L2 error of a row quantized on [lo, hi] (with the fp16-rounded parameters). */
export function rowError(row: ArrayLike<number>, lo: number, hi: number, bits: number): number {
  const [scale, bias] = storedParams(lo, hi, bits);
  const top = 2 ** bits - 1;
  let err = 0;
  for (let i = 0; i < row.length; i++) {
    const q = Math.min(Math.max(Math.round((row[i] - bias) / scale), 0), top);
    err += (q * scale + bias - row[i]) ** 2;
  }
  return err;
}

/**
 * Greedy range search: start at [min, max]; repeatedly move the left or right end inward by
 * range/200, whichever gives the lower L2 error; stop once 16% of the range is cut; return the
 * best range seen (so never worse than min/max).
 */
export function greedyRowRange(
  row: ArrayLike<number>,
  bits: number,
  options: RangeSearchOptions = {},
): { lo: number; hi: number; error: number; minMaxError: number } {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < row.length; i++) {
    if (!Number.isFinite(row[i])) throw new Error(`embedding row has a non-finite value at ${i}`);
    lo = Math.min(lo, row[i]);
    hi = Math.max(hi, row[i]);
  }
  const minMaxError = rowError(row, lo, hi, bits);
  const range = hi - lo;
  const step = range * (options.stepFraction ?? 1 / 200);
  const stop = range * (options.maxShrink ?? 0.16);
  let best = { lo, hi, error: minMaxError };
  if (step <= 0) return { ...best, minMaxError };
  let curLo = lo;
  let curHi = hi;
  while (curHi - curLo > range - stop + 1e-12 * range) {
    const left = rowError(row, curLo + step, curHi, bits);
    const right = rowError(row, curLo, curHi - step, bits);
    if (left < right) curLo += step;
    else curHi -= step;
    const err = Math.min(left, right);
    if (err < best.error) best = { lo: curLo, hi: curHi, error: err };
  }
  return { ...best, minMaxError };
}

/** Quantizes a [rows, dim] table row by row (greedy ranges, or plain min/max). */
export function quantizeRowwise(
  table: ArrayLike<number>,
  rows: number,
  dim: number,
  options: { bits?: number; greedy?: boolean } & RangeSearchOptions = {},
): RowwiseQuantized {
  const bits = options.bits ?? 4;
  if (!Number.isInteger(bits) || bits < 2 || bits > 8)
    throw new Error(`row-wise quantization: bits must be an integer from 2 to 8, got ${bits}`);
  if (table.length !== rows * dim)
    throw new Error(
      `row-wise quantization: table has ${table.length} values, [${rows}, ${dim}] needs ${rows * dim}`,
    );
  const codes = new Uint16Array(rows * dim);
  const scaleBias = new Int32Array(rows);
  const top = 2 ** bits - 1;
  const row = new Float32Array(dim);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < dim; i++) row[i] = table[r * dim + i];
    let lo: number;
    let hi: number;
    if (options.greedy ?? true) ({ lo, hi } = greedyRowRange(row, bits, options));
    else {
      lo = Math.min(...row);
      hi = Math.max(...row);
    }
    const [scale, bias] = storedParams(lo, hi, bits);
    scaleBias[r] = toFloat16Bits(scale) | (toFloat16Bits(bias) << 16);
    for (let i = 0; i < dim; i++)
      codes[r * dim + i] = Math.min(Math.max(Math.round((row[i] - bias) / scale), 0), top);
  }
  return { rows, dim, bits, codes: packCodes(codes, bits), scaleBias };
}

export function dequantizeRowwise(q: RowwiseQuantized): Float32Array {
  const codes = unpackCodes(q.codes, q.bits, q.rows * q.dim);
  const out = new Float32Array(q.rows * q.dim);
  for (let r = 0; r < q.rows; r++) {
    const w = q.scaleBias[r];
    const scale = fromFloat16Bits(w & 0xffff);
    const bias = fromFloat16Bits((w >>> 16) & 0xffff);
    for (let i = 0; i < q.dim; i++) out[r * q.dim + i] = codes[r * q.dim + i] * scale + bias;
  }
  return out;
}
