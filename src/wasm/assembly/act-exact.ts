// The exact activation codec's groups (ACT_EXACT of act-groups.ts, which runs them): the scalar
// float64 quantizer (act-scalar.ts) four values at a time, so the same codes, mins and scales as
// the JS quantizer
// (src/activation/codec/quantize.ts), bit for bit. The dither stream is the JS one: a 32-bit LCG
// seeded per group, state k+1 = a * state k + c; four consecutive states sit in the four lanes and
// jump 4v steps at once for the v-th vector of a word (a^4v and c (a^(4v-1) + ... + a + 1), modulo
// 2^32), each from the word's first four states: the vectors of a word do not wait for each other.
// wasm has no fused multiply-add, so each float64 lane rounds (x - min) * inv + u exactly as the
// scalar code does.
//
// The float32 screen. Most codes need no float64: T = (x - min) * inv + u' in float32 (inv the
// float32 of 1 / scale, u' = 2^E + delta + u with E = bits + 1 and u cut to the 23 - E bits T's
// last place holds) lies in [2^E, 2^(E+1)) and is within 9.02 * 2^(bits-24) of t + 2^E + delta,
// t the float64 (x - min) / scale + u of the JS code (three float32 roundings of a relative 2^-24
// on a = (x - min) / scale < 2^bits, half a last place 2^(E-24) on the add and a whole one for
// the cut u; the float64 ones are 2^29 times smaller; with scale and inv >= 2^-126 a subnormal
// x - min is exact). delta = 8 last places = 2^(bits-19) is above that bound, so where T's
// fraction is 2 delta or more, floor(T) - 2^E = floor(t): the code is the JS one (below, t's
// fraction plus delta and the error could reach the next integer). T's integer part and fraction
// are bit fields of its float bits: the code is T >>> (23 - E) less a constant (the exponent,
// taken off with the lanes' sum, see `magicOf`), the fraction T << (9 + E); integer shifts, no
// rounding instructions. Four words with a fraction below 2 delta are computed again in float64
// (about 1 block of 64 values in 1000 at 2 bits, 1 of 16 values in 100 at 8). Groups whose span,
// inverse or scale could overflow or go subnormal in float32 skip the screen.
//
// Words go four at a time, vector v of the four words together (the last first: Horner, a
// constant shift per vector; four LCG chains run backwards): each word's lanes hold the codes of
// values 4v + lane (shifted by 4v * bits), and one transpose-like combine of the four words (two unpacks and a shift per
// step, `combine4`) moves lane l's codes up by l * bits and writes the four words with one store,
// where a word alone needs a multiply and four lane extracts.

import { rangeMax } from './act-range';
import { LCG_A, LCG_C, quantizeScalar, restoreScalar } from './act-scalar';

/** delta of the screen in units of T's last bit, 2^(E - 23): 8 units is 2^(bits - 19). */
const DELTA_UNITS: i32 = 8;
const MIN_NORMAL: f32 = 1.1754943508222875e-38;
/** Jumps of the LCG by 4v steps, v = 0 .. 8: multipliers (splat) then increments (splat). */
const LCG_JUMPS = memory.data(2 * 9 * 16, 16);

/** The first four states from a seed s: lane l is a^(l+1) s + c (a^l + ... + 1). */
const LCG_FIRST = memory.data(32, 16);

/**
 * The quantizer's per-call vectors (`exactSetup`), 16 bytes each at EXACT_* offsets: the jumps
 * by one word and by four, to each of a block's four words' last vector, four steps back, and
 * the exponent bits the screened lanes add up to (one word, four words).
 */
const EXACT_VECTORS = memory.data(16 * 16, 16);
const A_WORD = 0;
const C_WORD = 16;
const A_LAST = 32; // four multipliers (words 0..3) then four increments
const C_LAST = 96;
const A_QUAD = 160;
const C_QUAD = 176;
const A_BACK = 192;
const C_BACK = 208;
const MAGIC_1 = 224;
const MAGIC_4 = 240;

/**
 * Fills LCG_JUMPS, LCG_FIRST and EXACT_VECTORS for `bits` (once per call of the exact quantizer;
 * cheap beside a group).
 */
export function exactSetup(bits: i32): void {
  let a: u32 = 1;
  let c: u32 = 0;
  for (let m = 0; m <= 32; m++) {
    if ((m & 3) == 0) {
      v128.store(LCG_JUMPS + (m << 2), i32x4.splat(a));
      v128.store(LCG_JUMPS + 144 + (m << 2), i32x4.splat(c));
    }
    a *= LCG_A;
    c = c * LCG_A + LCG_C;
    if (m < 4) {
      store<u32>(LCG_FIRST + (m << 2), a);
      store<u32>(LCG_FIRST + 16 + (m << 2), c);
    }
  }
  const k = EXACT_VECTORS;
  const vpw = 8 / bits;
  const aWord = v128.load(LCG_JUMPS + (vpw << 4));
  const cWord = v128.load(LCG_JUMPS + 144 + (vpw << 4));
  v128.store(k + A_WORD, aWord);
  v128.store(k + C_WORD, cWord);
  // Jumps from a block's first states to the last vector of its word w (w = 0..3), and by 4 words.
  let aL = v128.load(LCG_JUMPS + ((vpw - 1) << 4));
  let cL = v128.load(LCG_JUMPS + 144 + ((vpw - 1) << 4));
  for (let w = 0; w < 4; w++) {
    v128.store(k + A_LAST + (w << 4), aL);
    v128.store(k + C_LAST + (w << 4), cL);
    cL = i32x4.add(i32x4.mul(cL, aWord), cWord);
    aL = i32x4.mul(aL, aWord);
  }
  let aQuad = aWord;
  let cQuad = cWord;
  for (let r = 0; r < 3; r++) {
    cQuad = i32x4.add(i32x4.mul(cQuad, aWord), cWord);
    aQuad = i32x4.mul(aQuad, aWord);
  }
  v128.store(k + A_QUAD, aQuad);
  v128.store(k + C_QUAD, cQuad);
  // The LCG four steps back: s = (s' - c4) / a4 (a4 is odd, so invertible modulo 2^32).
  const a1 = LCG_A * LCG_A * LCG_A * LCG_A;
  let a1Inv = a1;
  for (let r = 0; r < 5; r++) a1Inv *= 2 - a1 * a1Inv;
  const c1 = LCG_C * (LCG_A * LCG_A * LCG_A + LCG_A * LCG_A + LCG_A + 1);
  v128.store(k + A_BACK, i32x4.splat(a1Inv));
  v128.store(k + C_BACK, i32x4.splat(0 - c1 * a1Inv));
  const magic = magicOf(bits);
  v128.store(k + MAGIC_1, i32x4.splat(magic));
  v128.store(
    k + MAGIC_4,
    i32x4.splat(magic + (magic << bits) + (magic << (2 * bits)) + (magic << (3 * bits))),
  );
}

/**
 * The screen's T = (x - min) * inv + u' in float32 for four values at `xp`, with
 * u' = 2^E + delta + u (E = bits + 1) from the state's top 23 - E bits: an integer add to the
 * bits of 2^E + delta (`vU`), no conversion, no multiply, no carry into the exponent. T then
 * lies in [2^E, 2^(E+1)): its integer part (less 2^E) and its fraction are bit fields of it.
 */
@inline
function screenT(xp: i32, sv: v128, vlo: v128, vinv: v128, vU: v128, e: i32): v128 {
  const u = i32x4.add(i32x4.shr_u(sv, 9 + e), vU);
  return f32x4.add(f32x4.mul(f32x4.sub(v128.load(xp), vlo), vinv), u);
}

/** What the exponent bits of a word's screened codes add to each of its lanes (see `screenT`). */
function magicOf(bits: i32): u32 {
  const e = bits + 1;
  const k = <u32>(127 + e) << e;
  let m: u32 = 0;
  for (let v = 0; v < 8 / bits; v++) m += k << (v * 4 * bits);
  return m;
}

/**
 * One word of the screen alone (`per` values at `xp`, the states of its last vector in `sl`):
 * its lanes (see `combine1`) and, in `screenFm`, the smallest fraction field of its T.
 */
@inline
function screenWord(
  xp: i32,
  sl: v128,
  bits: i32,
  vlo: v128,
  vinv: v128,
  vU: v128,
  aBack: v128,
  cBack: v128,
): v128 {
  const e = bits + 1;
  let sv = sl;
  let p = xp + ((8 / bits - 1) << 4);
  let t = screenT(p, sv, vlo, vinv, vU, e);
  let fm = i32x4.shl(t, 9 + e);
  let acc = i32x4.shr_u(t, 23 - e);
  while (p > xp) {
    p -= 16;
    sv = i32x4.add(i32x4.mul(sv, aBack), cBack);
    t = screenT(p, sv, vlo, vinv, vU, e);
    fm = i32x4.min_u(fm, i32x4.shl(t, 9 + e));
    acc = i32x4.add(i32x4.shl(acc, 4 * bits), i32x4.shr_u(t, 23 - e));
  }
  screenFm = fm;
  return acc;
}

/** The smallest fraction field (shifted to the top) of the word `screenWord` screened last. */
let screenFm: v128 = i32x4.splat(0);

/**
 * One word in float64, the JS arithmetic: lanes as `screenWord`'s (codes only, clamped to
 * `levels`). `st` holds the word's first four states.
 */
@inline
function exactWord(xp: i32, st: v128, bits: i32, vlo: v128, inv: v128, vLevels: v128): v128 {
  const vU24 = f64x2.splat(1.0 / 16777216.0);
  const vMagic = f64x2.splat(4503599627370496.0); // 2^52: an integer below 2^32 in the low word
  let acc = i32x4.splat(0);
  for (let v = 0; v < 8 / bits; v++) {
    const xv = v128.load(xp + (v << 4));
    const jump = LCG_JUMPS + (v << 4);
    const sv = i32x4.add(i32x4.mul(st, v128.load(jump)), v128.load(jump + 144));
    const u = i32x4.shr_u(sv, 8);
    const x01 = f64x2.promote_low_f32x4(xv);
    const x23 = f64x2.promote_low_f32x4(v128.shuffle<f32>(xv, xv, 2, 3, 0, 1));
    const u01 = f64x2.mul(f64x2.convert_low_i32x4_s(u), vU24);
    const u23 = f64x2.mul(f64x2.convert_low_i32x4_s(v128.shuffle<i32>(u, u, 2, 3, 0, 1)), vU24);
    // t >= 0, so floor is the JS truncation; + 2^52 leaves the integer in the low word.
    const t01 = f64x2.add(f64x2.mul(f64x2.sub(x01, vlo), inv), u01);
    const t23 = f64x2.add(f64x2.mul(f64x2.sub(x23, vlo), inv), u23);
    const f01 = f64x2.add(f64x2.floor(t01), vMagic);
    const f23 = f64x2.add(f64x2.floor(t23), vMagic);
    const c = i32x4.min_s(v128.shuffle<i32>(f01, f23, 0, 2, 4, 6), vLevels);
    acc = v128.or(acc, i32x4.shl(c, v * 4 * bits));
  }
  return acc;
}

/**
 * Four words from their lanes (`screenWord` / `exactWord` layout): word k = sum over lanes l of
 * lane l << (l * bits), less `magic` (what the lanes' exponent bits add up to). Lanes 0 and 2,
 * 1 and 3 first (the second of each pair up by 2 * bits), then the two pairs (by bits).
 */
@inline
function combine4(a: v128, b: v128, c: v128, d: v128, bits: i32, magic: v128): v128 {
  const ab = i32x4.add(
    v128.shuffle<i32>(a, b, 0, 4, 1, 5),
    i32x4.shl(v128.shuffle<i32>(a, b, 2, 6, 3, 7), 2 * bits),
  );
  const cd = i32x4.add(
    v128.shuffle<i32>(c, d, 0, 4, 1, 5),
    i32x4.shl(v128.shuffle<i32>(c, d, 2, 6, 3, 7), 2 * bits),
  );
  const w = i32x4.add(
    v128.shuffle<i32>(ab, cd, 0, 1, 4, 5),
    i32x4.shl(v128.shuffle<i32>(ab, cd, 2, 3, 6, 7), bits),
  );
  return i32x4.sub(w, magic);
}

/** One word from its lanes (`combine4` for a single word). */
@inline
function combine1(acc: v128, bits: i32, magic: v128): i32 {
  const w = i32x4.mul(
    i32x4.sub(acc, magic),
    i32x4(1, 1 << bits, 1 << (2 * bits), 1 << (3 * bits)),
  );
  return (
    i32x4.extract_lane(w, 0) |
    i32x4.extract_lane(w, 1) |
    i32x4.extract_lane(w, 2) |
    i32x4.extract_lane(w, 3)
  );
}

/**
 * One group of the exact quantizer at sizeof<T>() bits (1, 2, 4 or 8; one copy per width: the
 * shifts and loop bounds are constants in each): the `n` values at `p0`, min `lo32` and step
 * `scale32` > 0 (max `rangeMax()`), the dither seeded by `seed`, packed from `w` on (after
 * `exactSetup(bits)`). Returns the address after the last word written.
 */
@inline
export function quantizeExactGroup<T>(
  p0: i32,
  n: i32,
  lo32: f32,
  scale32: f32,
  seed: i32,
  w: i32,
): i32 {
  const bits = <i32>sizeof<T>();
  const e = bits + 1;
  const levels = (1 << bits) - 1;
  const per = 32 / bits;
  const last = 8 / bits - 1;
  const k = EXACT_VECTORS;
  const aWord = v128.load(k + A_WORD);
  const cWord = v128.load(k + C_WORD);
  const aL0 = v128.load(k + A_LAST);
  const cL0 = v128.load(k + C_LAST);
  const aL1 = v128.load(k + A_LAST + 16);
  const cL1 = v128.load(k + C_LAST + 16);
  const aL2 = v128.load(k + A_LAST + 32);
  const cL2 = v128.load(k + C_LAST + 32);
  const aL3 = v128.load(k + A_LAST + 48);
  const cL3 = v128.load(k + C_LAST + 48);
  const aQuad = v128.load(k + A_QUAD);
  const cQuad = v128.load(k + C_QUAD);
  const aBack = v128.load(k + A_BACK);
  const cBack = v128.load(k + C_BACK);
  const vMagic = v128.load(k + MAGIC_1);
  const vMagic4 = v128.load(k + MAGIC_4);
  const vLevels = i32x4.splat(levels);
  const vZero = i32x4.splat(0);
  // u' = 2^E + delta + u: the bits of 2^E plus delta = 8 units of 2^(E - 23) (see above).
  const vU = i32x4.splat(((127 + e) << 23) + DELTA_UNITS);
  // A fraction field below 2 delta (shifted to the top by 9 + E) sends the block to float64.
  const vFrac = i32x4.splat(2 * DELTA_UNITS << (9 + e));
  const wb = per << 2;
  let st = i32x4.add(
    i32x4.mul(i32x4.splat(seed), v128.load(LCG_FIRST)),
    v128.load(LCG_FIRST + 16),
  );
  const inv = f64x2.splat(1.0 / <f64>scale32);
  const vlo = f64x2.splat(<f64>lo32);
  // The float32 screen (see above): only where no float32 step can overflow or go subnormal.
  const inv32 = <f32>(1.0 / <f64>scale32);
  const span32: f32 = rangeMax() - lo32;
  const screen =
    scale32 >= MIN_NORMAL && inv32 >= MIN_NORMAL && span32 - span32 == 0 && inv32 - inv32 == 0;
  const vinv32 = f32x4.splat(inv32);
  const vlo32 = f32x4.splat(lo32);
  const whole = n / per;
  let i = 0;
  let q = 0;
  for (; q + 4 <= whole; q += 4, i += 4 * per, w += 16) {
    const st0 = st;
    st = i32x4.add(i32x4.mul(st0, aQuad), cQuad);
    const xp = p0 + (i << 2);
    if (screen) {
      // Vector v of the four words at a time, the last first (Horner: a constant shift per
      // vector), the LCG run backwards from each word's last states.
      let sv0 = i32x4.add(i32x4.mul(st0, aL0), cL0);
      let sv1 = i32x4.add(i32x4.mul(st0, aL1), cL1);
      let sv2 = i32x4.add(i32x4.mul(st0, aL2), cL2);
      let sv3 = i32x4.add(i32x4.mul(st0, aL3), cL3);
      let p = xp + (last << 4);
      let t0 = screenT(p, sv0, vlo32, vinv32, vU, e);
      let t1 = screenT(p + wb, sv1, vlo32, vinv32, vU, e);
      let t2 = screenT(p + 2 * wb, sv2, vlo32, vinv32, vU, e);
      let t3 = screenT(p + 3 * wb, sv3, vlo32, vinv32, vU, e);
      let fm = i32x4.min_u(
        i32x4.min_u(i32x4.shl(t0, 9 + e), i32x4.shl(t1, 9 + e)),
        i32x4.min_u(i32x4.shl(t2, 9 + e), i32x4.shl(t3, 9 + e)),
      );
      let a0 = i32x4.shr_u(t0, 23 - e);
      let a1 = i32x4.shr_u(t1, 23 - e);
      let a2 = i32x4.shr_u(t2, 23 - e);
      let a3 = i32x4.shr_u(t3, 23 - e);
      while (p > xp) {
        p -= 16;
        sv0 = i32x4.add(i32x4.mul(sv0, aBack), cBack);
        sv1 = i32x4.add(i32x4.mul(sv1, aBack), cBack);
        sv2 = i32x4.add(i32x4.mul(sv2, aBack), cBack);
        sv3 = i32x4.add(i32x4.mul(sv3, aBack), cBack);
        t0 = screenT(p, sv0, vlo32, vinv32, vU, e);
        t1 = screenT(p + wb, sv1, vlo32, vinv32, vU, e);
        t2 = screenT(p + 2 * wb, sv2, vlo32, vinv32, vU, e);
        t3 = screenT(p + 3 * wb, sv3, vlo32, vinv32, vU, e);
        fm = i32x4.min_u(
          fm,
          i32x4.min_u(
            i32x4.min_u(i32x4.shl(t0, 9 + e), i32x4.shl(t1, 9 + e)),
            i32x4.min_u(i32x4.shl(t2, 9 + e), i32x4.shl(t3, 9 + e)),
          ),
        );
        a0 = i32x4.add(i32x4.shl(a0, 4 * bits), i32x4.shr_u(t0, 23 - e));
        a1 = i32x4.add(i32x4.shl(a1, 4 * bits), i32x4.shr_u(t1, 23 - e));
        a2 = i32x4.add(i32x4.shl(a2, 4 * bits), i32x4.shr_u(t2, 23 - e));
        a3 = i32x4.add(i32x4.shl(a3, 4 * bits), i32x4.shr_u(t3, 23 - e));
      }
      if (!v128.any_true(i32x4.lt_u(fm, vFrac))) {
        v128.store(w, combine4(a0, a1, a2, a3, bits, vMagic4));
        continue;
      }
    }
    const st1 = i32x4.add(i32x4.mul(st0, aWord), cWord);
    const st2 = i32x4.add(i32x4.mul(st1, aWord), cWord);
    const st3 = i32x4.add(i32x4.mul(st2, aWord), cWord);
    const a = exactWord(xp, st0, bits, vlo, inv, vLevels);
    const b = exactWord(xp + wb, st1, bits, vlo, inv, vLevels);
    const c = exactWord(xp + 2 * wb, st2, bits, vlo, inv, vLevels);
    const d = exactWord(xp + 3 * wb, st3, bits, vlo, inv, vLevels);
    v128.store(w, combine4(a, b, c, d, bits, vZero));
  }
  for (; q < whole; q++, i += per, w += 4) {
    const xp = p0 + (i << 2);
    let word = 0;
    let done = false;
    if (screen) {
      const sl = last > 0 ? i32x4.add(i32x4.mul(st, aL0), cL0) : st;
      const a = screenWord(xp, sl, bits, vlo32, vinv32, vU, aBack, cBack);
      if (!v128.any_true(i32x4.lt_u(screenFm, vFrac))) {
        word = combine1(a, bits, vMagic);
        done = true;
      }
    }
    if (!done) word = combine1(exactWord(xp, st, bits, vlo, inv, vLevels), bits, vZero);
    store<i32>(w, word);
    st = i32x4.add(i32x4.mul(st, aWord), cWord);
  }
  // The tail word, scalar: lane 0 holds the state of value i.
  const state = <u32>i32x4.extract_lane(st, 0);
  return quantizeScalar(p0 + (i << 2), n - i, state, lo32, scale32, bits, w);
}

/**
 * One group of the exact restore at sizeof<T>() = 1 or 2 bits (`n` values from the words at
 * `w0` into `o0`): the group's 2^bits values min + c * scale (float64, rounded once) sit
 * byte-planar in one vector (byte 4k + c: byte k of value c), and a word's codes are spread so
 * that lane l of `spread` holds word >>> (l * bits) (one multiply by 2^((3 - l) * bits) and a
 * shift); vector v then takes, in every byte of lane l, the byte of `spread` holding code
 * 4v + l in its low bits (a constant shuffle), masks the code, adds the byte plane and looks the
 * output bytes up (a swizzle).
 */
@inline
export function restoreTable<T>(w0: i32, o0: i32, n: i32, lo32: f32, scale32: f32): void {
  const bits = <i32>sizeof<T>();
  const per = 32 / bits;
  const mask = (1 << bits) - 1;
  const laneUp = i32x4(1 << (3 * bits), 1 << (2 * bits), 1 << bits, 1);
  const vMask = i8x16.splat(<i8>mask);
  // Byte k of each lane looks in byte plane k.
  const planes = i32x4.splat(0x0c080400);
  const vlo = f64x2.splat(<f64>lo32);
  const vs = f64x2.splat(<f64>scale32);
  const values = v128.shuffle<f32>(
    f32x4.demote_f64x2_zero(f64x2.add(vlo, f64x2.mul(f64x2(0, 1), vs))),
    f32x4.demote_f64x2_zero(f64x2.add(vlo, f64x2.mul(f64x2(2, 3), vs))),
    0,
    1,
    4,
    5,
  );
  const table = v128.shuffle<u8>(
    values,
    values,
    0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15,
  );
  const whole = n / per;
  let i = 0;
  for (let k = 0; k < whole; k++, i += per) {
    const spread = i32x4.shr_u(
      i32x4.mul(i32x4.splat(load<i32>(w0 + (k << 2))), laneUp),
      3 * bits,
    );
    const o = o0 + (i << 2);
    if (bits == 2) {
      const c = v128.and(spread, vMask);
      v128.store(o, lookUp(table, c, planes, 0));
      v128.store(o + 16, lookUp(table, c, planes, 1));
      v128.store(o + 32, lookUp(table, c, planes, 2));
      v128.store(o + 48, lookUp(table, c, planes, 3));
    } else {
      const c = v128.and(spread, vMask);
      const d = v128.and(i32x4.shr_u(spread, 4), vMask);
      v128.store(o, lookUp(table, c, planes, 0));
      v128.store(o + 16, lookUp(table, d, planes, 0));
      v128.store(o + 32, lookUp(table, c, planes, 1));
      v128.store(o + 48, lookUp(table, d, planes, 1));
      v128.store(o + 64, lookUp(table, c, planes, 2));
      v128.store(o + 80, lookUp(table, d, planes, 2));
      v128.store(o + 96, lookUp(table, c, planes, 3));
      v128.store(o + 112, lookUp(table, d, planes, 3));
    }
  }
  restoreScalar<T, f64>(w0 + (whole << 2), o0 + (i << 2), n - i, lo32, scale32);
}

/** Four outputs: the codes in byte `b` of each lane of `c`, looked up in the byte planes. */
@inline
function lookUp(table: v128, c: v128, planes: v128, b: i32): v128 {
  // Byte b of each lane into all four of its bytes (constant shuffles: one instruction each).
  let spread = v128.shuffle<u8>(c, c, 0, 0, 0, 0, 4, 4, 4, 4, 8, 8, 8, 8, 12, 12, 12, 12);
  if (b == 1) spread = v128.shuffle<u8>(c, c, 1, 1, 1, 1, 5, 5, 5, 5, 9, 9, 9, 9, 13, 13, 13, 13);
  if (b == 2)
    spread = v128.shuffle<u8>(c, c, 2, 2, 2, 2, 6, 6, 6, 6, 10, 10, 10, 10, 14, 14, 14, 14);
  if (b == 3)
    spread = v128.shuffle<u8>(c, c, 3, 3, 3, 3, 7, 7, 7, 7, 11, 11, 11, 11, 15, 15, 15, 15);
  return i8x16.swizzle(table, v128.or(spread, planes));
}

/**
 * One group of the restore at sizeof<T>() bits, four values (one vector of a word) at a time:
 * lane l of vector v holds code 4v + l read in place as code * 2^(l * bits). F = f64: the exact
 * restore (4 and 8 bits), two float64 lanes at a time, multiplied by scale * 2^-(lane * bits):
 * both factors exact, so the one rounding is the same. F = f32: the SIMD codec's (every width),
 * min + code * scale in float32 with the lane factor folded into the scale, rounded twice (within
 * 1 ulp of the JS path).
 */
@inline
export function restoreLanes<T, F>(w0: i32, o0: i32, n: i32, lo: f32, scale: f32): void {
  const bits = <i32>sizeof<T>();
  const per = 32 / bits;
  const vecsPerWord = per / 4;
  const mask = (1 << bits) - 1;
  const laneMask = i32x4(mask, mask << bits, mask << (2 * bits), mask << (3 * bits));
  const exact = sizeof<F>() == 8;
  const down = <f64>1 / <f64>(1 << bits);
  const vlo = f64x2.splat(<f64>lo);
  const vmul = f64x2(<f64>scale, <f64>scale * down);
  const laneScale = f32x4(
    1,
    <f32>1 / <f32>(1 << bits),
    <f32>1 / <f32>(1 << (2 * bits)),
    <f32>1 / <f32>(<f64>(1 << (3 * bits)) * 1),
  );
  const vlo32 = f32x4.splat(lo);
  const vmul32 = f32x4.mul(laneScale, f32x4.splat(scale));
  const whole = n / per;
  let i = 0;
  for (let k = 0; k < whole; k++) {
    const word = i32x4.splat(load<i32>(w0 + (k << 2)));
    for (let v = 0; v < vecsPerWord; v++, i += 4) {
      const c = v128.and(i32x4.shr_u(word, v * 4 * bits), laneMask);
      let r: v128;
      if (exact) {
        // Lanes 2 and 3 shifted down by 2 * bits: every lane then fits a signed conversion.
        const c23 = i32x4.shr_u(v128.shuffle<i32>(c, c, 2, 3, 0, 1), 2 * bits);
        const r01 = f64x2.add(vlo, f64x2.mul(f64x2.convert_low_i32x4_s(c), vmul));
        const r23 = f64x2.add(vlo, f64x2.mul(f64x2.convert_low_i32x4_s(c23), vmul));
        r = v128.shuffle<f32>(
          f32x4.demote_f64x2_zero(r01),
          f32x4.demote_f64x2_zero(r23),
          0,
          1,
          4,
          5,
        );
      } else {
        // Below 8 bits every masked lane is positive as int32 (the signed convert is cheaper).
        const cf = bits < 8 ? f32x4.convert_i32x4_s(c) : f32x4.convert_i32x4_u(c);
        r = f32x4.add(vlo32, f32x4.mul(cf, vmul32));
      }
      v128.store(o0 + (i << 2), r);
    }
  }
  restoreScalar<T, F>(w0 + (whole << 2), o0 + (i << 2), n - i, lo, scale);
}

/**
 * The seeds of `n` groups as the JS quantizer draws them (`(rng() * 2^32) | 0`, one draw a group)
 * from a mulberry32 generator (src/engine/random.ts) whose counter is `state`: out[k] gets the
 * 32 bits of draw k + 1, the hash of state + (k + 1) * 0x6d2b79f5. Four draws at a time.
 */
export function actMulberrySeeds(state: u32, n: i32, out: i32): void {
  const inc: u32 = 0x6d2b79f5;
  let a = i32x4.add(i32x4.splat(state), i32x4(inc, inc * 2, inc * 3, inc * 4));
  const step = i32x4.splat(inc * 4);
  const one = i32x4.splat(1);
  const sixtyOne = i32x4.splat(61);
  const n4 = n & ~3;
  let k = 0;
  for (; k < n4; k += 4) {
    let t = i32x4.mul(v128.xor(a, i32x4.shr_u(a, 15)), v128.or(a, one));
    t = v128.xor(t, i32x4.add(t, i32x4.mul(v128.xor(t, i32x4.shr_u(t, 7)), v128.or(t, sixtyOne))));
    v128.store(out + (k << 2), v128.xor(t, i32x4.shr_u(t, 14)));
    a = i32x4.add(a, step);
  }
  for (; k < n; k++) {
    const s = state + <u32>(k + 1) * inc;
    let t = (s ^ (s >>> 15)) * (s | 1);
    t ^= t + (t ^ (t >>> 7)) * (t | 61);
    store<u32>(out + (k << 2), t ^ (t >>> 14));
  }
}
