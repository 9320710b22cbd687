// The activation codec's scalar arithmetic, value by value, as the JS quantizer
// (src/activation/codec/quantize.ts) does it: the dither stream, the code of one value and the
// restored value. The 'scalar' kernels (act-groups.ts, the tests' wasm reference) run whole groups
// through it, and the SIMD kernels (act-exact.ts, act-codec.ts) their tails. Not re-exported by
// kernels.ts: inline helpers, not kernels.

/** The dither stream: a 32-bit LCG seeded per group, state k+1 = LCG_A * state k + LCG_C. */
export const LCG_A: u32 = 1664525;
export const LCG_C: u32 = 1013904223;

/**
 * Codes of the `n` float32 values at `p` (min `lo`, step `scale` > 0, `bits` bits) packed into
 * words from `w` on, 32 / bits a word; `state` is the stream's state for the first value (the
 * top 24 bits of a value's state, times 2^-24, are its dither). Float64 arithmetic, truncated and
 * clamped to 2^bits - 1: the JS codes. Returns the address after the last word written.
 */
@inline
export function quantizeScalar(
  p: i32,
  n: i32,
  state: u32,
  lo: f32,
  scale: f32,
  bits: i32,
  w: i32,
): i32 {
  const levels = (1 << bits) - 1;
  const inv = 1.0 / <f64>scale;
  const lo64 = <f64>lo;
  for (let i = 0; i < n; w += 4) {
    let word: i32 = 0;
    for (let shift = 0; shift < 32 && i < n; shift += bits, i++) {
      let c = <i32>(
        (<f64>load<f32>(p + (i << 2)) - lo64) * inv +
        <f64>(state >>> 8) * (1.0 / 16777216.0)
      );
      if (c > levels) c = levels;
      word |= c << shift;
      state = state * LCG_A + LCG_C;
    }
    store<i32>(w, word);
  }
  return w;
}

/**
 * Restores `n` values from the words at `w` (codes of sizeof<T>() bits, the first in the lowest)
 * into the float32s at `o`: lo + code * scale in F (f64: the JS values, rounded once; f32: the
 * SIMD codec's, rounded twice).
 */
@inline
export function restoreScalar<T, F>(w: i32, o: i32, n: i32, lo: f32, scale: f32): void {
  const bits = <i32>sizeof<T>();
  const per = 32 / bits;
  const mask: u32 = (1 << bits) - 1;
  for (let i = 0; i < n; w += 4) {
    const word = <u32>load<i32>(w);
    const stop = min(i + per, n);
    for (let shift: u32 = 0; i < stop; i++, shift += <u32>bits)
      store<f32>(o + (i << 2), <f32>(<F>lo + <F>((word >>> shift) & mask) * <F>scale));
  }
}
