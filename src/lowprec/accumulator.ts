/**
 * Low-bit accumulator simulator (after Blumenfeld, Hubara, Soudry, ICLR 2024; Sakr et al.).
 * A float format with `mantissa` explicit fraction bits and `exponent` exponent bits (IEEE-like:
 * bias 2^(E-1) - 1, gradual underflow, round-to-nearest-even, overflow saturates to the largest
 * finite value instead of Infinity). Every product and every partial sum of a dot product is
 * rounded to the format; with `chunk` = n the products are summed in chunks of n and the chunk
 * sums are then accumulated (in the same format, or in a wider `outer` format: low-bit within
 * each chunk, higher precision across chunks), which limits swamping. At mantissa 23 / exponent 8 every rounding is
 * float32's, so results equal a float32 sequential sum bit for bit. Plain JS loops: a simulation,
 * slow by nature; keep it to small layers.
 */
export interface FloatFormat {
  mantissa: number;
  exponent: number;
}

export function checkFloatFormat(f: FloatFormat, where = 'accumulator'): void {
  if (!Number.isInteger(f.mantissa) || f.mantissa < 1 || f.mantissa > 23)
    throw new Error(`${where}.mantissa must be an integer in 1-23, got ${f.mantissa}`);
  if (!Number.isInteger(f.exponent) || f.exponent < 2 || f.exponent > 8)
    throw new Error(`${where}.exponent must be an integer in 2-8, got ${f.exponent}`);
}

const F64 = new Float64Array(1);
const U32 = new Uint32Array(F64.buffer);
/** 2^(i - 1100) for i < 2200 (2^1075 and up overflow to Infinity; never read). */
const POW2 = Float64Array.from({ length: 2200 }, (_, i) => 2 ** (i - 1100));
const HIGH = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1 ? 1 : 0;

/**
 * A function rounding numbers to the format (round half to even; saturating), fast: the binary
 * exponent is read from the double's bits and the rounding done by adding and subtracting
 * C = 1.5 * 2^(e - M + 52), which leaves a multiple of 2^(e - M) rounded half to even (the sum
 * lies in one binade with that ulp, and C / 2^(e - M) is even). Equals `roundToFormatReference`.
 */
export function formatRounder(f: FloatFormat): (x: number) => number {
  const m = f.mantissa;
  const bias = 2 ** (f.exponent - 1) - 1;
  const emin = 1 - bias;
  const emax = bias;
  const maxVal = (2 - 2 ** -m) * 2 ** emax;
  return (x: number): number => {
    if (x === 0 || Number.isNaN(x)) return x;
    const a = x < 0 ? -x : x;
    if (a === Number.POSITIVE_INFINITY) return x;
    F64[0] = a;
    let e = ((U32[HIGH] >>> 20) & 0x7ff) - 1023;
    if (e > emax) return x < 0 ? -maxVal : maxVal;
    if (e < emin) e = emin;
    const c = 1.5 * POW2[e - m + 52 + 1100];
    let v = a + c - c;
    if (v > maxVal) v = maxVal;
    return x < 0 ? -v : v;
  };
}

/** Rounds `x` to the format (round half to even; saturating). */
export function roundToFormat(x: number, f: FloatFormat): number {
  return formatRounder(f)(x);
}

/**
 * Rounds `x` to the format (round half to even; saturating), from the definition: the reference
 * that `formatRounder` is tested against.
 */
export function roundToFormatReference(x: number, f: FloatFormat): number {
  if (x === 0 || !Number.isFinite(x)) return x;
  const bias = 2 ** (f.exponent - 1) - 1;
  const emin = 1 - bias;
  const emax = bias;
  const a = Math.abs(x);
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;
  else if (2 ** (e + 1) <= a) e++;
  const q = 2 ** (Math.max(e, emin) - f.mantissa);
  const t = a / q;
  let r = Math.floor(t);
  const frac = t - r;
  if (frac > 0.5 || (frac === 0.5 && r % 2 === 1)) r++;
  let v = r * q;
  const maxVal = (2 - 2 ** -f.mantissa) * 2 ** emax;
  if (v > maxVal) v = maxVal;
  return x < 0 ? -v : v;
}

/**
 * Dot product of a[ao + i*as] and b[bo + i*bs], i < k, accumulated in the format; with chunks,
 * the chunk sums are accumulated in `outer` (default: the same format).
 */
export function lowBitDot(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  k: number,
  f: FloatFormat,
  chunk = 0,
  ao = 0,
  as = 1,
  bo = 0,
  bs = 1,
  outer: FloatFormat = f,
): number {
  const n = chunk > 0 ? chunk : k;
  const round = formatRounder(f);
  const roundOuter = outer === f ? round : formatRounder(outer);
  let total = 0;
  for (let s = 0; s < k; s += n) {
    let part = 0;
    const end = Math.min(k, s + n);
    for (let i = s; i < end; i++) {
      const p = round(a[ao + i * as] * b[bo + i * bs]);
      part = round(part + p);
    }
    total = s === 0 ? part : roundOuter(total + part);
  }
  return total;
}

/**
 * x [rows, k] times w [k, cols] (row-major) with low-bit accumulation; returns [rows, cols].
 * `outer`: the format the chunk sums are accumulated in (needs chunk > 0; default `f`).
 */
export function lowBitMatMul(
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  rows: number,
  k: number,
  cols: number,
  f: FloatFormat,
  chunk = 0,
  outer: FloatFormat | null = null,
): Float32Array {
  checkFloatFormat(f);
  if (!Number.isInteger(chunk) || chunk < 0)
    throw new Error(`accumulator.chunk must be a non-negative integer, got ${chunk}`);
  if (outer !== null) {
    checkFloatFormat(outer, 'accumulator.outer');
    if (chunk === 0)
      throw new Error('accumulator.outer needs chunk > 0 (one sequential sum has no chunk sums)');
  }
  if (x.length !== rows * k)
    throw new Error(`lowBitMatMul: x has ${x.length} values, expected ${rows}x${k}`);
  if (w.length !== k * cols)
    throw new Error(`lowBitMatMul: w has ${w.length} values, expected ${k}x${cols}`);
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < cols; c++)
      out[r * cols + c] = lowBitDot(x, w, k, f, chunk, r * k, 1, c, cols, outer ?? f);
  return out;
}
