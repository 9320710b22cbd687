// The activation codec's two entry points (re-exported by kernels.ts): `actQuantizeAs` and
// `actRestoreAs`, per-group min/scale quantization with stochastic rounding, 1/2/4/8 bits, groups
// of 256 values that never straddle two samples (src/activation/codec/quantize.ts), in one of
// three kinds that share the layout and this per-group loop:
// - ACT_SCALAR: the JS quantizer's arithmetic value by value in float64 (act-scalar.ts), the
//   tests' wasm reference;
// - ACT_EXACT: the same codes, mins, scales and restored values, bit for bit, in SIMD lanes
//   (act-exact.ts), the 'wasm' codec;
// - ACT_SIMD: float32 SIMD with a counter-based hash dither (act-codec.ts), the 'wasm-simd' codec.
// Per group: a 32-bit linear congruential stream (ACT_SCALAR, ACT_EXACT) or the hash (ACT_SIMD)
// seeded with `seeds[g]` (one draw of the caller's generator per group). One copy of the loop
// per width (`sizeof<T>()` as the width: shifts and loop bounds are constants), the kind chosen
// per group.

import { quantizeSimdGroup } from './act-codec';
import { exactSetup, quantizeExactGroup, restoreLanes, restoreTable } from './act-exact';
import { groupRange, rangeMax, rangeMin, scalarRange } from './act-range';
import { LCG_A, LCG_C, quantizeScalar, restoreScalar } from './act-scalar';

const GROUP: i32 = 256;
/** The kinds (src/wasm/module.ts binds them as actQuantize / actQuantizeExact / ...Simd). */
const ACT_SCALAR: i32 = 0;
const ACT_EXACT: i32 = 1;
const ACT_SIMD: i32 = 2;

/**
 * Quantizes `samples` x `perSample` float32 values at `x` into packed words (`GROUP * bits / 32`
 * per group), mins and scales (float32, one per group), with group `g`'s dither seeded by the
 * int32 `seeds[g]`, in `kind`. Returns 0, or 1 when a value is NaN or infinite (outputs then
 * incomplete).
 */
export function actQuantizeAs(
  kind: i32,
  x: i32,
  samples: i32,
  perSample: i32,
  bits: i32,
  seeds: i32,
  words: i32,
  mins: i32,
  scales: i32,
): i32 {
  if (kind == ACT_EXACT) exactSetup(bits);
  // One copy per width (shifts and loop bounds constants), the kind chosen per group.
  if (bits == 1) return quantizeGroups<u8>(kind, x, samples, perSample, seeds, words, mins, scales);
  if (bits == 2) return quantizeGroups<u16>(kind, x, samples, perSample, seeds, words, mins, scales);
  if (bits == 4) return quantizeGroups<u32>(kind, x, samples, perSample, seeds, words, mins, scales);
  return quantizeGroups<u64>(kind, x, samples, perSample, seeds, words, mins, scales);
}

/** `actQuantizeAs` at sizeof<T>() bits. */
@inline
function quantizeGroups<T>(
  kind: i32,
  x: i32,
  samples: i32,
  perSample: i32,
  seeds: i32,
  words: i32,
  mins: i32,
  scales: i32,
): i32 {
  const bits = <i32>sizeof<T>();
  const gps = (perSample + GROUP - 1) / GROUP;
  const levels = (1 << bits) - 1;
  const groupBytes = (GROUP * bits) >> 3;
  for (let s = 0; s < samples; s++) {
    for (let g = 0; g < gps; g++) {
      const n = min(GROUP, perSample - g * GROUP);
      const p0 = x + ((s * perSample + g * GROUP) << 2);
      if (!(kind == ACT_SCALAR ? scalarRange(p0, n) : groupRange(p0, n))) return 1;
      const gi = s * gps + g;
      const lo = rangeMin();
      const scale = <f32>((<f64>rangeMax() - <f64>lo) / <f64>levels);
      store<f32>(mins + (gi << 2), lo);
      store<f32>(scales + (gi << 2), scale);
      let w = words + gi * groupBytes;
      const wEnd = w + groupBytes;
      if (scale != 0) {
        const seed = load<i32>(seeds + (gi << 2));
        if (kind == ACT_EXACT) w = quantizeExactGroup<T>(p0, n, lo, scale, seed, w);
        else if (kind == ACT_SIMD) w = quantizeSimdGroup<T>(p0, n, lo, scale, seed, w);
        else w = quantizeScalar(p0, n, <u32>seed * LCG_A + LCG_C, lo, scale, bits, w);
      }
      for (; w < wEnd; w += 4) store<i32>(w, 0);
    }
  }
  return 0;
}

/**
 * Restores samples `first` .. `first + count - 1` of codes packed by `actQuantizeAs` into
 * `count` x `perSample` float32 values at `out`, in `kind`: min + code * scale (float64, rounded
 * once: ACT_SCALAR, ACT_EXACT; float32: ACT_SIMD).
 */
export function actRestoreAs(
  kind: i32,
  words: i32,
  mins: i32,
  scales: i32,
  perSample: i32,
  bits: i32,
  first: i32,
  count: i32,
  out: i32,
): void {
  if (bits == 1) restoreGroups<u8>(kind, words, mins, scales, perSample, first, count, out);
  else if (bits == 2) restoreGroups<u16>(kind, words, mins, scales, perSample, first, count, out);
  else if (bits == 4) restoreGroups<u32>(kind, words, mins, scales, perSample, first, count, out);
  else restoreGroups<u64>(kind, words, mins, scales, perSample, first, count, out);
}

/** `actRestoreAs` at sizeof<T>() bits. */
@inline
function restoreGroups<T>(
  kind: i32,
  words: i32,
  mins: i32,
  scales: i32,
  perSample: i32,
  first: i32,
  count: i32,
  out: i32,
): void {
  const gps = (perSample + GROUP - 1) / GROUP;
  const groupBytes = (GROUP * <i32>sizeof<T>()) >> 3;
  for (let s = first; s < first + count; s++) {
    for (let g = 0; g < gps; g++) {
      const gi = s * gps + g;
      const n = min(GROUP, perSample - g * GROUP);
      const lo = load<f32>(mins + (gi << 2));
      const scale = load<f32>(scales + (gi << 2));
      const w0 = words + gi * groupBytes;
      const o0 = out + (((s - first) * perSample + g * GROUP) << 2);
      if (kind == ACT_EXACT) {
        if (sizeof<T>() <= 2) restoreTable<T>(w0, o0, n, lo, scale);
        else restoreLanes<T, f64>(w0, o0, n, lo, scale);
      } else if (kind == ACT_SIMD) restoreLanes<T, f32>(w0, o0, n, lo, scale);
      else restoreScalar<T, f64>(w0, o0, n, lo, scale);
    }
  }
}
