/**
 * Uniform quantization of weights: codes c in [0, 2^bits) dequantize to `c * scale + offset`,
 * with one (scale, offset) per tensor or per output channel.
 * - symmetric: levels -(2^(b-1)-1)..(2^(b-1)-1) times scale = max|w| / (2^(b-1)-1); zero exact.
 * - affine: 2^b levels spanning [min, max] of the channel.
 * Round to nearest, so every value inside the range is within scale/2 of its dequantized value.
 */

export const QUANT_SCHEMES = ['symmetric', 'affine'] as const;
export type QuantScheme = (typeof QUANT_SCHEMES)[number];
export const QUANT_GRANULARITIES = ['tensor', 'channel'] as const;
export type QuantGranularity = (typeof QUANT_GRANULARITIES)[number];

export interface QuantSpec {
  bits: number;
  scheme: QuantScheme;
  granularity: QuantGranularity;
}

/** Per-channel dequantization parameters: value = code * scale[ch] + offset[ch]. */
export interface QuantParams {
  bits: number;
  scale: Float32Array;
  offset: Float32Array;
}

export interface QuantizedValues extends QuantParams {
  codes: Uint16Array;
}

export function checkQuantSpec(spec: QuantSpec, where = 'quantization'): void {
  if (!Number.isInteger(spec.bits) || spec.bits < 2 || spec.bits > 8) {
    throw new Error(`${where}: bits must be an integer from 2 to 8, got ${spec.bits}`);
  }
  if (!(QUANT_SCHEMES as readonly string[]).includes(spec.scheme)) {
    throw new Error(
      `${where}: scheme must be one of ${QUANT_SCHEMES.join(', ')}, got ${spec.scheme}`,
    );
  }
  if (!(QUANT_GRANULARITIES as readonly string[]).includes(spec.granularity)) {
    throw new Error(
      `${where}: granularity must be one of ${QUANT_GRANULARITIES.join(', ')}, got ${spec.granularity}`,
    );
  }
}

/** Per-channel [lo, hi] of `values`, where value i belongs to channel `channelOf(i)`. */
export function channelRanges(
  values: ArrayLike<number>,
  channels: number,
  channelOf: (i: number) => number,
): { lo: Float32Array; hi: Float32Array } {
  const lo = new Float32Array(channels).fill(Number.POSITIVE_INFINITY);
  const hi = new Float32Array(channels).fill(Number.NEGATIVE_INFINITY);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) throw new Error(`cannot quantize a non-finite weight (${v} at ${i})`);
    const c = channelOf(i);
    if (v < lo[c]) lo[c] = v;
    if (v > hi[c]) hi[c] = v;
  }
  for (let c = 0; c < channels; c++) {
    if (lo[c] > hi[c]) {
      lo[c] = 0;
      hi[c] = 0;
    }
  }
  return { lo, hi };
}

/** Scale and offset for each channel's range [lo, hi] under a scheme and bit width. */
export function paramsFromRanges(
  lo: ArrayLike<number>,
  hi: ArrayLike<number>,
  bits: number,
  scheme: QuantScheme,
): QuantParams {
  const n = lo.length;
  const scale = new Float32Array(n);
  const offset = new Float32Array(n);
  for (let c = 0; c < n; c++) {
    if (scheme === 'symmetric') {
      const half = 2 ** (bits - 1) - 1;
      const s = Math.max(Math.abs(lo[c]), Math.abs(hi[c])) / half || 1e-12;
      scale[c] = s;
      offset[c] = -s * 2 ** (bits - 1);
    } else {
      const s = (hi[c] - lo[c]) / (2 ** bits - 1) || 1e-12;
      scale[c] = s;
      offset[c] = lo[c];
    }
  }
  return { bits, scale, offset };
}

/** Lowest and highest code a scheme uses (symmetric leaves code 0 unused to stay balanced). */
export function codeRange(bits: number, scheme: QuantScheme): [number, number] {
  return scheme === 'symmetric' ? [1, 2 ** bits - 1] : [0, 2 ** bits - 1];
}

/** Round-to-nearest codes of `values` under given parameters, clamped to the scheme's codes. */
export function quantizeWith(
  values: ArrayLike<number>,
  params: QuantParams,
  scheme: QuantScheme,
  channelOf: (i: number) => number,
): Uint16Array {
  const [cmin, cmax] = codeRange(params.bits, scheme);
  const codes = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const c = channelOf(i);
    const q = Math.round((values[i] - params.offset[c]) / params.scale[c]);
    codes[i] = Math.min(Math.max(q, cmin), cmax);
  }
  return codes;
}

/** Quantizes `values` by min/max ranges per tensor or per channel. */
export function quantizeValues(
  values: ArrayLike<number>,
  spec: QuantSpec,
  channels: number,
  channelOf: (i: number) => number,
): QuantizedValues {
  checkQuantSpec(spec);
  const ch = spec.granularity === 'channel' ? channels : 1;
  const of = spec.granularity === 'channel' ? channelOf : () => 0;
  const { lo, hi } = channelRanges(values, ch, of);
  const params = paramsFromRanges(lo, hi, spec.bits, spec.scheme);
  return { ...params, codes: quantizeWith(values, params, spec.scheme, of) };
}

/** Dequantizes codes into `out` (allocated when omitted). */
export function dequantizeValues(
  q: QuantizedValues,
  channelOf: (i: number) => number,
  out = new Float32Array(q.codes.length),
): Float32Array {
  const perChannel = q.scale.length > 1;
  for (let i = 0; i < q.codes.length; i++) {
    const c = perChannel ? channelOf(i) : 0;
    out[i] = q.codes[i] * q.scale[c] + q.offset[c];
  }
  return out;
}
