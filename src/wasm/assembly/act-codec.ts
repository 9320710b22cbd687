// Exact kernels of the compressed-activation backward state (re-exported by kernels.ts): the 1-bit
// ReLU mask (pack, apply to dy) and the max-pool argmax codes (pack, scatter dy). Every result is
// bit-identical to the JS reference (src/activation/codec/saved.ts, layers/compressed-max-pool.ts):
// masks are comparisons, the masked gradient is dy * 0 or dy * 1 (as tf.mul of dy by a 0/1 mask),
// the scatter adds dy into zeros in output order (as tf.scatterND). Pointers are byte offsets into
// the module memory (src/wasm/heap.ts); codes are packed `32 / bits` per 32-bit word, the first in
// the lowest bits (src/activation/codec/pack.ts).

/**
 * Sets bit `from + i` of the (zeroed) words at `words` when x[i] > 0, for the `n` floats at `x`.
 * 32 values per word at a time when `from` is a multiple of 32.
 */
export function actPackPositive(x: i32, n: i32, from: i32, words: i32): void {
  if ((from & 31) != 0) {
    for (let i = 0; i < n; i++)
      if (load<f32>(x + (i << 2)) > 0) {
        const j = from + i;
        const p = words + ((j >>> 5) << 2);
        store<u32>(p, load<u32>(p) | ((<u32>1) << (j & 31)));
      }
    return;
  }
  const zero = f32x4.splat(0);
  const n32 = n & ~31;
  let w = words + ((from >>> 5) << 2);
  for (let i = 0; i < n32; i += 32) {
    const p = x + (i << 2);
    let bits: u32 = 0;
    for (let k = 0; k < 8; k++) {
      const m = f32x4.gt(v128.load(p + (k << 4)), zero);
      bits |= (<u32>i32x4.bitmask(m)) << (k << 2);
    }
    store<u32>(w, bits);
    w += 4;
  }
  if (n32 < n) {
    let bits: u32 = 0;
    for (let i = n32; i < n; i++) if (load<f32>(x + (i << 2)) > 0) bits |= (<u32>1) << (i - n32);
    store<u32>(w, bits);
  }
}

/**
 * out[i] = dy[i] * (bit `from + i` of the words at `words`), for i < count: the gradient through
 * a ReLU from its packed mask. `words` must be readable 4 bytes past the last word holding a bit.
 */
export function actApplyMask(words: i32, from: i32, count: i32, dy: i32, out: i32): void {
  const one = f32x4.splat(1);
  const laneBits = i32x4(1, 2, 4, 8);
  const count4 = count & ~3;
  for (let i = 0; i < count4; i += 4) {
    const j = from + i;
    // Four bits from bit j on (a 64-bit read: they may straddle two words).
    const b = <i32>((load<u64>(words + ((j >>> 5) << 2)) >>> (<u64>(j & 31))) & 15);
    const m = i32x4.ne(v128.and(i32x4.splat(b), laneBits), i32x4.splat(0));
    const f = v128.and(m, one);
    v128.store(out + (i << 2), f32x4.mul(v128.load(dy + (i << 2)), f));
  }
  for (let i = count4; i < count; i++) {
    const j = from + i;
    const bit = (load<u32>(words + ((j >>> 5) << 2)) >>> (j & 31)) & 1;
    store<f32>(out + (i << 2), load<f32>(dy + (i << 2)) * <f32>bit);
  }
}

/**
 * `actApplyMask` that also sums its output per channel: the `count` values are rows of
 * `channels` (count a multiple of it), and out[i] is added to the float64 sums[i % channels]
 * (`channels` f64 at `sums`, not zeroed here) in index order, as frugal's leading-axes Sum adds
 * a bias gradient (float64 accumulators, row by row): the same sums, bit for bit.
 */
export function actApplyMaskSum(
  words: i32,
  from: i32,
  count: i32,
  dy: i32,
  out: i32,
  channels: i32,
  sums: i32,
): void {
  actApplyMask(words, from, count, dy, out);
  const rows = count / channels;
  if ((channels & 3) == 0) {
    for (let r = 0; r < rows; r++) {
      const row = out + ((r * channels) << 2);
      for (let c = 0; c < channels; c += 4) {
        const v = v128.load(row + (c << 2));
        const lo = f64x2.promote_low_f32x4(v);
        const hi = f64x2.promote_low_f32x4(
          i8x16.shuffle(v, v, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7),
        );
        const s = sums + (c << 3);
        v128.store(s, f64x2.add(v128.load(s), lo));
        v128.store(s + 16, f64x2.add(v128.load(s + 16), hi));
      }
    }
    return;
  }
  for (let r = 0; r < rows; r++) {
    const row = out + ((r * channels) << 2);
    for (let c = 0; c < channels; c++) {
      const s = sums + (c << 3);
      store<f64>(s, load<f64>(s) + <f64>load<f32>(row + (c << 2)));
    }
  }
}

/**
 * Max-pool argmax codes of an NHWC input [n, h, w, c]: for each output (b, r, q, ch) of an
 * outH x outW grid with windows ph x pw, strides sh x sw and top/left padding, the offset
 * i * pw + j of the window's first maximum (strictly greater than the ones before; 0 when no value
 * is, as for NaN windows), written as a `bits`-bit code (1, 2, 4 or 8) at output index o0 + its
 * index among these outputs.
 * The words must be zeroed. Four channels at a time when c is a multiple of 4.
 */
export function actPoolArgmax(
  x: i32,
  n: i32,
  h: i32,
  w: i32,
  c: i32,
  ph: i32,
  pw: i32,
  sh: i32,
  sw: i32,
  outH: i32,
  outW: i32,
  top: i32,
  left: i32,
  bits: i32,
  o0: i32,
  words: i32,
): void {
  const per = 32 / bits;
  let o = o0;
  for (let b = 0; b < n; b++)
    for (let r = 0; r < outH; r++)
      for (let q = 0; q < outW; q++) {
        let ch = 0;
        if ((c & 3) == 0) {
          for (; ch < c; ch += 4, o += 4) {
            let best = f32x4.splat(-Infinity);
            let at = i32x4.splat(0);
            for (let i = 0; i < ph; i++) {
              const y = r * sh - top + i;
              if (y < 0 || y >= h) continue;
              for (let j = 0; j < pw; j++) {
                const xx = q * sw - left + j;
                if (xx < 0 || xx >= w) continue;
                const v = v128.load(x + ((((b * h + y) * w + xx) * c + ch) << 2));
                const m = f32x4.gt(v, best);
                best = v128.bitselect(v, best, m);
                at = v128.bitselect(i32x4.splat(i * pw + j), at, m);
              }
            }
            writeCode(words, o, i32x4.extract_lane(at, 0), bits, per);
            writeCode(words, o + 1, i32x4.extract_lane(at, 1), bits, per);
            writeCode(words, o + 2, i32x4.extract_lane(at, 2), bits, per);
            writeCode(words, o + 3, i32x4.extract_lane(at, 3), bits, per);
          }
        }
        for (; ch < c; ch++, o++) {
          let best: f32 = -Infinity;
          let at = 0;
          for (let i = 0; i < ph; i++) {
            const y = r * sh - top + i;
            if (y < 0 || y >= h) continue;
            for (let j = 0; j < pw; j++) {
              const xx = q * sw - left + j;
              if (xx < 0 || xx >= w) continue;
              const v = load<f32>(x + ((((b * h + y) * w + xx) * c + ch) << 2));
              if (v > best) {
                best = v;
                at = i * pw + j;
              }
            }
          }
          writeCode(words, o, at, bits, per);
        }
      }
}

@inline
function writeCode(words: i32, o: i32, code: i32, bits: i32, per: i32): void {
  const p = words + ((o / per) << 2);
  store<u32>(p, load<u32>(p) | ((<u32>code) << ((o % per) * bits)));
}

/**
 * The max-pool input gradient from packed argmax codes (the layout `actPoolArgmax` writes; these
 * outputs' codes from output index o0 on): dx [n, h, w, c] (zeroed here) gets dy[o] added at each
 * output's argmax, in output order; a code pointing outside the input (only possible for windows
 * with no value above -Infinity) adds nothing.
 */
export function actPoolScatter(
  words: i32,
  dy: i32,
  dx: i32,
  n: i32,
  h: i32,
  w: i32,
  c: i32,
  pw: i32,
  sh: i32,
  sw: i32,
  outH: i32,
  outW: i32,
  top: i32,
  left: i32,
  bits: i32,
  o0: i32,
): void {
  memory.fill(dx, 0, <usize>(n * h * w * c) << 2);
  const per = 32 / bits;
  const mask = (1 << bits) - 1;
  let o = 0;
  for (let b = 0; b < n; b++)
    for (let r = 0; r < outH; r++)
      for (let q = 0; q < outW; q++)
        for (let ch = 0; ch < c; ch++, o++) {
          const k = o0 + o;
          const code = (load<u32>(words + ((k / per) << 2)) >>> ((k % per) * bits)) & mask;
          const y = r * sh - top + code / pw;
          const xx = q * sw - left + (code % pw);
          if (y < 0 || y >= h || xx < 0 || xx >= w) continue;
          const p = dx + ((((b * h + y) * w + xx) * c + ch) << 2);
          store<f32>(p, load<f32>(p) + load<f32>(dy + (o << 2)));
        }
}

// The SIMD quantizer again (`actQuantizeSimd` in kernels.ts: same arguments, layout and dither,
// so the same codes, mins and scales), with fewer instructions per value: the dither hash's index
// term advances by one add per vector instead of a multiply, and the code is floor()ed and clamped
// in float32 and read from the float's mantissa (x + 2^23), instead of a saturating truncation
// (several instructions on x86) and integer clamps. floor and trunc agree on every value >= 0 and
// both clamp to 0 below it, so the codes are the same.

@inline
function mix4(h0: v128): v128 {
  let h = v128.xor(h0, i32x4.shr_u(h0, 16));
  h = i32x4.mul(h, i32x4.splat(0x7feb352d));
  h = v128.xor(h, i32x4.shr_u(h, 15));
  h = i32x4.mul(h, i32x4.splat(0x846ca68b));
  return v128.xor(h, i32x4.shr_u(h, 16));
}

@inline
function mix1(seed: u32, idx: u32): u32 {
  let h = seed + idx * 0x9e3779b9;
  h ^= h >>> 16;
  h *= 0x7feb352d;
  h ^= h >>> 15;
  h *= 0x846ca68b;
  return h ^ (h >>> 16);
}

/** `actQuantizeSimd` with fewer instructions per value (same results; see above). */
export function actQuantizeFast(
  x: i32,
  samples: i32,
  perSample: i32,
  bits: i32,
  seeds: i32,
  words: i32,
  mins: i32,
  scales: i32,
): i32 {
  const group = 256;
  const gps = (perSample + group - 1) / group;
  const levels = (1 << bits) - 1;
  const per = 32 / bits;
  const vecsPerWord = per / 4;
  const wordsPerGroup = group / per;
  const u24: f32 = 1.0 / 16777216.0;
  const laneMul = i32x4(1, 1 << bits, 1 << (2 * bits), 1 << (3 * bits));
  const vU24 = f32x4.splat(u24);
  const vZero = f32x4.splat(0);
  const vTop = f32x4.splat(<f32>levels);
  const vMagic = f32x4.splat(8388608.0);
  const vCode = i32x4.splat(levels);
  const golden: u32 = 0x9e3779b9;
  const laneIdx = i32x4(0, golden, golden * 2, golden * 3);
  const step = i32x4.splat(golden * 4);
  for (let s = 0; s < samples; s++) {
    const base = s * perSample;
    for (let g = 0; g < gps; g++) {
      const start = base + g * group;
      const end = min(start + group, base + perSample);
      const n = end - start;
      const n4 = n & ~3;
      const p0 = x + (start << 2);
      let vlo = f32x4.splat(Infinity);
      let vhi = f32x4.splat(-Infinity);
      let vsum = f32x4.splat(0);
      for (let i = 0; i < n4; i += 4) {
        const v = v128.load(p0 + (i << 2));
        vlo = f32x4.pmin(vlo, v);
        vhi = f32x4.pmax(vhi, v);
        vsum = f32x4.add(vsum, v);
      }
      let lo: f32 = min(
        min(f32x4.extract_lane(vlo, 0), f32x4.extract_lane(vlo, 1)),
        min(f32x4.extract_lane(vlo, 2), f32x4.extract_lane(vlo, 3)),
      );
      let hi: f32 = max(
        max(f32x4.extract_lane(vhi, 0), f32x4.extract_lane(vhi, 1)),
        max(f32x4.extract_lane(vhi, 2), f32x4.extract_lane(vhi, 3)),
      );
      let sum: f32 =
        f32x4.extract_lane(vsum, 0) +
        f32x4.extract_lane(vsum, 1) +
        f32x4.extract_lane(vsum, 2) +
        f32x4.extract_lane(vsum, 3);
      for (let i = n4; i < n; i++) {
        const v = load<f32>(p0 + (i << 2));
        sum += v;
        lo = min(lo, v);
        hi = max(hi, v);
      }
      if (sum - sum != 0 || lo != lo || hi != hi) return 1;
      const gi = s * gps + g;
      const scale = <f32>((<f64>hi - <f64>lo) / <f64>levels);
      store<f32>(mins + (gi << 2), lo);
      store<f32>(scales + (gi << 2), scale);
      let w = words + gi * wordsPerGroup * 4;
      const wEnd = w + wordsPerGroup * 4;
      if (scale == 0) {
        for (; w < wEnd; w += 4) store<i32>(w, 0);
        continue;
      }
      const seed = <u32>load<i32>(seeds + (gi << 2));
      // seed + index * golden for the four lanes, advanced by 4 * golden per vector.
      let hidx = i32x4.add(i32x4.splat(seed), laneIdx);
      const inv: f32 = <f32>(1.0 / <f64>scale);
      const vinv = f32x4.splat(inv);
      const vlo0 = f32x4.splat(lo);
      const whole = n / per;
      let i = 0;
      for (let k = 0; k < whole; k++, w += 4) {
        let acc = i32x4.splat(0);
        for (let v = 0; v < vecsPerWord; v++, i += 4) {
          const xv = v128.load(p0 + (i << 2));
          const u = f32x4.mul(f32x4.convert_i32x4_s(i32x4.shr_u(mix4(hidx), 8)), vU24);
          hidx = i32x4.add(hidx, step);
          let f = f32x4.floor(f32x4.add(f32x4.mul(f32x4.sub(xv, vlo0), vinv), u));
          f = f32x4.pmin(f32x4.pmax(f, vZero), vTop);
          const c = v128.and(f32x4.add(f, vMagic), vCode);
          acc = v128.or(acc, i32x4.shl(i32x4.mul(c, laneMul), v * 4 * bits));
        }
        store<i32>(
          w,
          i32x4.extract_lane(acc, 0) |
            i32x4.extract_lane(acc, 1) |
            i32x4.extract_lane(acc, 2) |
            i32x4.extract_lane(acc, 3),
        );
      }
      if (i < n) {
        let word: i32 = 0;
        for (let shift = 0; i < n; shift += bits, i++) {
          const u = <f32>(mix1(seed, <u32>i) >>> 8) * u24;
          let c = <i32>((load<f32>(p0 + (i << 2)) - lo) * inv + u);
          if (c > levels) c = levels;
          if (c < 0) c = 0;
          word |= c << shift;
        }
        store<i32>(w, word);
        w += 4;
      }
      for (; w < wEnd; w += 4) store<i32>(w, 0);
    }
  }
  return 0;
}

/**
 * dst = src^T for a row-major float32 matrix of `rows` x `cols` (dst is cols x rows). A pure
 * copy. Blocks of 4 x 4 (SIMD shuffles) walk down a strip of 4 columns, so only 4 destination
 * rows are being written at a time: a destination stride that is a multiple of 4 KiB (rows = 9216
 * floats is 9 x 4 KiB) maps every destination row to one cache set, and a wider tile thrashes it.
 */
export function actTranspose(src: i32, rows: i32, cols: i32, dst: i32): void {
  const r4 = rows & ~3;
  const c4 = cols & ~3;
  const sRow = cols << 2;
  const dRow = rows << 2;
  for (let c = 0; c < c4; c += 4) {
    for (let r = 0; r < r4; r += 4) {
      const s = src + r * sRow + (c << 2);
      const a = v128.load(s);
      const b = v128.load(s + sRow);
      const e = v128.load(s + 2 * sRow);
      const f = v128.load(s + 3 * sRow);
      const t0 = v128.shuffle<f32>(a, b, 0, 4, 1, 5);
      const t1 = v128.shuffle<f32>(a, b, 2, 6, 3, 7);
      const t2 = v128.shuffle<f32>(e, f, 0, 4, 1, 5);
      const t3 = v128.shuffle<f32>(e, f, 2, 6, 3, 7);
      const d = dst + c * dRow + (r << 2);
      v128.store(d, v128.shuffle<f32>(t0, t2, 0, 1, 4, 5));
      v128.store(d + dRow, v128.shuffle<f32>(t0, t2, 2, 3, 6, 7));
      v128.store(d + 2 * dRow, v128.shuffle<f32>(t1, t3, 0, 1, 4, 5));
      v128.store(d + 3 * dRow, v128.shuffle<f32>(t1, t3, 2, 3, 6, 7));
    }
    for (let r = r4; r < rows; r++)
      for (let cc = c; cc < c + 4; cc++)
        store<f32>(dst + cc * dRow + (r << 2), load<f32>(src + r * sRow + (cc << 2)));
  }
  for (let c = c4; c < cols; c++)
    for (let r = 0; r < rows; r++)
      store<f32>(dst + c * dRow + (r << 2), load<f32>(src + r * sRow + (c << 2)));
}

/**
 * dx = dz w^T for a dense layer's input gradient: dx[r, i] = sum over u of dz[r, u] * w[i, u],
 * for `rows` rows of dz [rows, k] and w [n, k] (row-major), into dx (row r at dx + r * stride
 * floats: a block of w's rows gives a block of dx's columns). w is read once,
 * row by row, for up to four rows of dz at a time (a chunk of a chunked backward has few rows:
 * XNNPACK's product for such a thin operand runs far below its speed, and with w transposed it
 * would need w^T, a weight-sized copy). k must be a multiple of 4; the sums run in four lanes
 * (u mod 4) added at the end, so they differ from other summation orders by float rounding.
 */
export function actDenseInputGrad(
  dz: i32,
  rows: i32,
  w: i32,
  n: i32,
  k: i32,
  dx: i32,
  stride: i32,
): void {
  const kb = k << 2;
  for (let r0 = 0; r0 < rows; r0 += 4) {
    const m = min(4, rows - r0);
    const z0 = dz + r0 * kb;
    const z1 = z0 + (m > 1 ? kb : 0);
    const z2 = z0 + (m > 2 ? 2 * kb : 0);
    const z3 = z0 + (m > 3 ? 3 * kb : 0);
    for (let i = 0; i < n; i++) {
      const wi = w + i * kb;
      let a0 = f32x4.splat(0);
      let a1 = f32x4.splat(0);
      let a2 = f32x4.splat(0);
      let a3 = f32x4.splat(0);
      for (let u = 0; u < kb; u += 16) {
        const v = v128.load(wi + u);
        a0 = f32x4.add(a0, f32x4.mul(v, v128.load(z0 + u)));
        a1 = f32x4.add(a1, f32x4.mul(v, v128.load(z1 + u)));
        a2 = f32x4.add(a2, f32x4.mul(v, v128.load(z2 + u)));
        a3 = f32x4.add(a3, f32x4.mul(v, v128.load(z3 + u)));
      }
      const o = dx + ((r0 * stride + i) << 2);
      const nb = stride << 2;
      store<f32>(o, hsum(a0));
      if (m > 1) store<f32>(o + nb, hsum(a1));
      if (m > 2) store<f32>(o + 2 * nb, hsum(a2));
      if (m > 3) store<f32>(o + 3 * nb, hsum(a3));
    }
  }
}

@inline
function hsum(a: v128): f32 {
  return (
    f32x4.extract_lane(a, 0) +
    f32x4.extract_lane(a, 1) +
    (f32x4.extract_lane(a, 2) + f32x4.extract_lane(a, 3))
  );
}

// The exact codec four values at a time: `actQuantize` / `actRestore` (kernels.ts, scalar float64)
// with the same arithmetic in float64 SIMD lanes, so the same codes, mins, scales and restored
// values as the JS quantizer, bit for bit. The dither stream is the JS one: a 32-bit LCG seeded
// per group, state k+1 = a * state k + c; four consecutive states sit in the four lanes and jump
// 4v steps at once for the v-th vector of a word (a^4v and c (a^(4v-1) + ... + a + 1), modulo
// 2^32), each from the word's first four states: the vectors of a word do not wait for each other
// (a chain of vector multiplies, 10 cycles each, bounded the loop before). wasm has no fused
// multiply-add, so each lane rounds (x - min) * inv + u exactly as the scalar code does.

const LCG_A: u32 = 1664525;
const LCG_C: u32 = 1013904223;

// The float32 screen. Most codes need no float64: t32 = (x - min) * inv + u in float32 (inv the
// float32 of 1 / scale) is within 4.1 * 2^-24 * (a + 1) of the float64 t of the JS code, where
// a = (x - min) / scale <= levels + 1 (three float32 roundings of a relative 2^-24 each on a, one
// on a + u; the float64 ones are 2^29 times smaller; with scale >= 2^-126 a subnormal x - min
// errs by at most 2^-24 in a). So where t32 is farther than (levels + 2) * 2^-18 (8 times that
// bound) from every integer, floor(t32) = floor(t): the code is the JS one. A word with a value
// closer than that is computed again in float64 (about 1 word in 1000 at 2 bits, 1 in 100 at 8).
// Groups whose span, inverse or scale could overflow or go subnormal in float32 skip the screen.
const SCREEN_MARGIN: f32 = 1.0 / 262144.0;
/** Jumps of the LCG by 4v steps, v = 0 .. 8: multipliers (splat) then increments (splat). */
const LCG_JUMPS = memory.data(2 * 9 * 16, 16);

/** Fills LCG_JUMPS (the same on every call; cheap beside a group). */
function lcgJumps(): void {
  let a: u32 = 1;
  let c: u32 = 0;
  for (let m = 0; m <= 32; m++) {
    if ((m & 3) == 0) {
      v128.store(LCG_JUMPS + (m << 2), i32x4.splat(a));
      v128.store(LCG_JUMPS + 144 + (m << 2), i32x4.splat(c));
    }
    a *= LCG_A;
    c = c * LCG_A + LCG_C;
  }
}

/**
 * Min and max of the `n` float32 values at `p` as the JS quantizer picks them (`v < lo`, `v > hi`
 * in order from +-Infinity: the first of equal values wins, which only shows for +0 and -0), into
 * the globals below; returns false when a value is NaN or infinite.
 */
let rangeLo: f32 = 0;
let rangeHi: f32 = 0;

@inline
function groupRange(p: i32, n: i32): bool {
  const n4 = n & ~3;
  const n8 = n & ~7;
  // Two accumulators of each kind (vectors i and i + 4): min and max take 4 cycles on x86, so
  // one chain of them would bound the loop. The NaN / infinity test ORs the bits of v - v, which
  // are 0 (+0) for every finite v and a NaN's for NaN and the infinities.
  let vlo = f32x4.splat(Infinity);
  let vhi = f32x4.splat(-Infinity);
  let vlo1 = vlo;
  let vhi1 = vhi;
  let bad = i32x4.splat(0);
  let i = 0;
  for (; i < n8; i += 8) {
    const v = v128.load(p + (i << 2));
    const w = v128.load(p + (i << 2) + 16);
    vlo = f32x4.pmin(vlo, v);
    vhi = f32x4.pmax(vhi, v);
    vlo1 = f32x4.pmin(vlo1, w);
    vhi1 = f32x4.pmax(vhi1, w);
    bad = v128.or(bad, v128.or(f32x4.sub(v, v), f32x4.sub(w, w)));
  }
  if (i < n4) {
    const v = v128.load(p + (i << 2));
    vlo = f32x4.pmin(vlo, v);
    vhi = f32x4.pmax(vhi, v);
    bad = v128.or(bad, f32x4.sub(v, v));
    i += 4;
  }
  vlo = f32x4.min(vlo, vlo1);
  vhi = f32x4.max(vhi, vhi1);
  let lo: f32 = min(
    min(f32x4.extract_lane(vlo, 0), f32x4.extract_lane(vlo, 1)),
    min(f32x4.extract_lane(vlo, 2), f32x4.extract_lane(vlo, 3)),
  );
  let hi: f32 = max(
    max(f32x4.extract_lane(vhi, 0), f32x4.extract_lane(vhi, 1)),
    max(f32x4.extract_lane(vhi, 2), f32x4.extract_lane(vhi, 3)),
  );
  let b: f32 = 0;
  for (; i < n; i++) {
    const v = load<f32>(p + (i << 2));
    b += v - v;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (v128.any_true(bad) || b != 0) return false;
  // A zero extreme: the JS order keeps the first zero of the group, whatever its sign.
  if (lo == 0 || hi == 0) {
    let i = 0;
    while (load<f32>(p + (i << 2)) != 0) i++;
    const z = load<f32>(p + (i << 2));
    if (lo == 0) lo = z;
    if (hi == 0) hi = z;
  }
  rangeLo = lo;
  rangeHi = hi;
  return true;
}

/**
 * The screen's T = (x - min) * inv + u' in float32 for four values at `xp`, with
 * u' = 1 + delta + (state >>> 9) * 2^-23 built from the bits (`vBits` = those of 1 + delta, an
 * integer add: no conversion, no multiply). That is 1 + delta + u to 2^-24, except where the add
 * carries into the exponent (u >= 1 - delta): there u' comes out up to delta too large. So T is
 * t + 1 + delta within the bound above plus [0, delta), and floor(T) - 1 is the code wherever
 * T - floor(T) >= 3 delta (T - delta then lies farther than the bound from every integer).
 */
@inline
function screenT(xp: i32, sv: v128, vlo: v128, vinv: v128, vBits: v128): v128 {
  const u1 = i32x4.add(i32x4.shr_u(sv, 9), vBits);
  return f32x4.add(f32x4.mul(f32x4.sub(v128.load(xp), vlo), vinv), u1);
}

/** `actQuantize` (same arguments, layout, stream and results) in float64 SIMD lanes. */
export function actQuantizeExact(
  x: i32,
  samples: i32,
  perSample: i32,
  bits: i32,
  seeds: i32,
  words: i32,
  mins: i32,
  scales: i32,
): i32 {
  const group = 256;
  const gps = (perSample + group - 1) / group;
  const levels = (1 << bits) - 1;
  const per = 32 / bits;
  const vecsPerWord = per / 4;
  const wordsPerGroup = group / per;
  lcgJumps();
  const aWord = v128.load(LCG_JUMPS + (vecsPerWord << 4));
  const cWord = v128.load(LCG_JUMPS + 144 + (vecsPerWord << 4));
  const laneMul = i32x4(1, 1 << bits, 1 << (2 * bits), 1 << (3 * bits));
  const vLevels = i32x4.splat(levels);
  const vU24 = f64x2.splat(1.0 / 16777216.0);
  const vMagic = f64x2.splat(4503599627370496.0); // 2^52: an integer below 2^32 in the low word
  const a1 = LCG_A * LCG_A * LCG_A * LCG_A;
  const a4 = i32x4.splat(a1);
  const c4 = i32x4.splat(LCG_C * (LCG_A * LCG_A * LCG_A + LCG_A * LCG_A + LCG_A + 1));
  // floor(T) + 2^23 - 1 holds the code floor(T) - 1 in its low bits under the exponent bits of
  // 2^23 (0x4b000000); the codes of a word are summed shifted (they do not overlap, so the sum
  // is their OR) with those exponent bits, which `magicSum` (their shifted sum) takes off again.
  // No clamp: a code above levels needs t >= levels + 1, which only a t within levels * 2^-23 of
  // that integer reaches (a <= levels / (1 - 2^-24)), and the screen sends such a word to float64.
  const vMagic1 = f32x4.splat(8388607.0); // 2^23 - 1
  let magicSum: u32 = 0;
  for (let v = 0; v < vecsPerWord; v++) magicSum += (<u32>0x4b000000) << (v * 4 * bits);
  const vMagicSum = i32x4.splat(magicSum);
  for (let s = 0; s < samples; s++) {
    const base = s * perSample;
    for (let g = 0; g < gps; g++) {
      const start = base + g * group;
      const n = min(group, perSample - g * group);
      const p0 = x + (start << 2);
      if (!groupRange(p0, n)) return 1;
      const gi = s * gps + g;
      const lo32 = rangeLo;
      const scale32 = <f32>((<f64>rangeHi - <f64>lo32) / <f64>levels);
      store<f32>(mins + (gi << 2), lo32);
      store<f32>(scales + (gi << 2), scale32);
      let w = words + gi * wordsPerGroup * 4;
      const wEnd = w + wordsPerGroup * 4;
      if (scale32 == 0) {
        for (; w < wEnd; w += 4) store<i32>(w, 0);
        continue;
      }
      const s0 = <u32>load<i32>(seeds + (gi << 2));
      const s1 = s0 * LCG_A + LCG_C;
      const s2 = s1 * LCG_A + LCG_C;
      const s3 = s2 * LCG_A + LCG_C;
      let st = i32x4(s1, s2, s3, s3 * LCG_A + LCG_C);
      const inv = f64x2.splat(1.0 / <f64>scale32);
      const vlo = f64x2.splat(<f64>lo32);
      // The float32 screen (see above): only where no float32 step can overflow or go subnormal.
      const inv32 = <f32>(1.0 / <f64>scale32);
      const span32: f32 = rangeHi - lo32;
      const screen =
        scale32 >= <f32>1.1754943508222875e-38 && span32 - span32 == 0 && inv32 - inv32 == 0;
      const vinv32 = f32x4.splat(inv32);
      const vlo32 = f32x4.splat(lo32);
      // delta = (levels + 2) * 2^-18 = 32 * (levels + 2) units of 2^-23.
      const vDelta = i32x4.splat(0x3f800000 + (levels + 2) * 32);
      const three: i32 = 3 * (levels + 2);
      const vDelta3 = f32x4.splat(<f32>three * SCREEN_MARGIN);
      const whole = n / per;
      let i = 0;
      for (let k = 0; k < whole; k++, w += 4, i += per) {
        let acc = i32x4.splat(0);
        let unsure = false;
        if (screen) {
          // Unrolled per width: constant shifts, and the states of a word's vectors in a chain.
          let fm = f32x4.splat(1);
          let t = fm;
          let f = fm;
          if (bits == 1) {
            let sv = st;
            t = screenT(p0 + ((i + 0) << 2), sv, vlo32, vinv32, vDelta);
            f = f32x4.floor(t);
            fm = f32x4.pmin(fm, f32x4.sub(t, f));
            acc = i32x4.add(acc, f32x4.add(f, vMagic1));
            sv = i32x4.add(i32x4.mul(sv, a4), c4);
            t = screenT(p0 + ((i + 4) << 2), sv, vlo32, vinv32, vDelta);
            f = f32x4.floor(t);
            fm = f32x4.pmin(fm, f32x4.sub(t, f));
            acc = i32x4.add(acc, i32x4.shl(f32x4.add(f, vMagic1), 4));
            sv = i32x4.add(i32x4.mul(sv, a4), c4);
            t = screenT(p0 + ((i + 8) << 2), sv, vlo32, vinv32, vDelta);
            f = f32x4.floor(t);
            fm = f32x4.pmin(fm, f32x4.sub(t, f));
            acc = i32x4.add(acc, i32x4.shl(f32x4.add(f, vMagic1), 8));
            sv = i32x4.add(i32x4.mul(sv, a4), c4);
            t = screenT(p0 + ((i + 12) << 2), sv, vlo32, vinv32, vDelta);
            f = f32x4.floor(t);
            fm = f32x4.pmin(fm, f32x4.sub(t, f));
            acc = i32x4.add(acc, i32x4.shl(f32x4.add(f, vMagic1), 12));
            sv = i32x4.add(i32x4.mul(sv, a4), c4);
            t = screenT(p0 + ((i + 16) << 2), sv, vlo32, vinv32, vDelta);
            f = f32x4.floor(t);
            fm = f32x4.pmin(fm, f32x4.sub(t, f));
            acc = i32x4.add(acc, i32x4.shl(f32x4.add(f, vMagic1), 16));
            sv = i32x4.add(i32x4.mul(sv, a4), c4);
            t = screenT(p0 + ((i + 20) << 2), sv, vlo32, vinv32, vDelta);
            f = f32x4.floor(t);
            fm = f32x4.pmin(fm, f32x4.sub(t, f));
            acc = i32x4.add(acc, i32x4.shl(f32x4.add(f, vMagic1), 20));
            sv = i32x4.add(i32x4.mul(sv, a4), c4);
            t = screenT(p0 + ((i + 24) << 2), sv, vlo32, vinv32, vDelta);
            f = f32x4.floor(t);
            fm = f32x4.pmin(fm, f32x4.sub(t, f));
            acc = i32x4.add(acc, i32x4.shl(f32x4.add(f, vMagic1), 24));
            sv = i32x4.add(i32x4.mul(sv, a4), c4);
            t = screenT(p0 + ((i + 28) << 2), sv, vlo32, vinv32, vDelta);
            f = f32x4.floor(t);
            fm = f32x4.pmin(fm, f32x4.sub(t, f));
            acc = i32x4.add(acc, i32x4.shl(f32x4.add(f, vMagic1), 28));
          } else if (bits == 2) {
            let sv = st;
            t = screenT(p0 + ((i + 0) << 2), sv, vlo32, vinv32, vDelta);
            f = f32x4.floor(t);
            fm = f32x4.pmin(fm, f32x4.sub(t, f));
            acc = i32x4.add(acc, f32x4.add(f, vMagic1));
            sv = i32x4.add(i32x4.mul(sv, a4), c4);
            t = screenT(p0 + ((i + 4) << 2), sv, vlo32, vinv32, vDelta);
            f = f32x4.floor(t);
            fm = f32x4.pmin(fm, f32x4.sub(t, f));
            acc = i32x4.add(acc, i32x4.shl(f32x4.add(f, vMagic1), 8));
            sv = i32x4.add(i32x4.mul(sv, a4), c4);
            t = screenT(p0 + ((i + 8) << 2), sv, vlo32, vinv32, vDelta);
            f = f32x4.floor(t);
            fm = f32x4.pmin(fm, f32x4.sub(t, f));
            acc = i32x4.add(acc, i32x4.shl(f32x4.add(f, vMagic1), 16));
            sv = i32x4.add(i32x4.mul(sv, a4), c4);
            t = screenT(p0 + ((i + 12) << 2), sv, vlo32, vinv32, vDelta);
            f = f32x4.floor(t);
            fm = f32x4.pmin(fm, f32x4.sub(t, f));
            acc = i32x4.add(acc, i32x4.shl(f32x4.add(f, vMagic1), 24));
          } else if (bits == 4) {
            let sv = st;
            t = screenT(p0 + ((i + 0) << 2), sv, vlo32, vinv32, vDelta);
            f = f32x4.floor(t);
            fm = f32x4.pmin(fm, f32x4.sub(t, f));
            acc = i32x4.add(acc, f32x4.add(f, vMagic1));
            sv = i32x4.add(i32x4.mul(sv, a4), c4);
            t = screenT(p0 + ((i + 4) << 2), sv, vlo32, vinv32, vDelta);
            f = f32x4.floor(t);
            fm = f32x4.pmin(fm, f32x4.sub(t, f));
            acc = i32x4.add(acc, i32x4.shl(f32x4.add(f, vMagic1), 16));
          } else if (bits == 8) {
            let sv = st;
            t = screenT(p0 + ((i + 0) << 2), sv, vlo32, vinv32, vDelta);
            f = f32x4.floor(t);
            fm = f32x4.pmin(fm, f32x4.sub(t, f));
            acc = i32x4.add(acc, f32x4.add(f, vMagic1));
          }
          // fm: the smallest fraction of a T in the word.
          unsure = v128.any_true(f32x4.lt(fm, vDelta3));
          acc = i32x4.sub(acc, vMagicSum);
        }
        if (!screen || unsure) {
          acc = i32x4.splat(0);
          for (let v = 0; v < vecsPerWord; v++) {
            const xv = v128.load(p0 + ((i + (v << 2)) << 2));
            const jump = LCG_JUMPS + (v << 4);
            const sv = i32x4.add(i32x4.mul(st, v128.load(jump)), v128.load(jump + 144));
            const u = i32x4.shr_u(sv, 8);
            const x01 = f64x2.promote_low_f32x4(xv);
            const x23 = f64x2.promote_low_f32x4(v128.shuffle<f32>(xv, xv, 2, 3, 0, 1));
            const u01 = f64x2.mul(f64x2.convert_low_i32x4_s(u), vU24);
            const u23 = f64x2.mul(
              f64x2.convert_low_i32x4_s(v128.shuffle<i32>(u, u, 2, 3, 0, 1)),
              vU24,
            );
            // t >= 0, so floor is the JS truncation; + 2^52 leaves the integer in the low word.
            const t01 = f64x2.add(f64x2.mul(f64x2.sub(x01, vlo), inv), u01);
            const t23 = f64x2.add(f64x2.mul(f64x2.sub(x23, vlo), inv), u23);
            const f01 = f64x2.add(f64x2.floor(t01), vMagic);
            const f23 = f64x2.add(f64x2.floor(t23), vMagic);
            const c = i32x4.min_s(v128.shuffle<i32>(f01, f23, 0, 2, 4, 6), vLevels);
            acc = v128.or(acc, i32x4.shl(c, v * 4 * bits));
          }
        }
        st = i32x4.add(i32x4.mul(st, aWord), cWord);
        acc = i32x4.mul(acc, laneMul);
        store<i32>(
          w,
          i32x4.extract_lane(acc, 0) |
            i32x4.extract_lane(acc, 1) |
            i32x4.extract_lane(acc, 2) |
            i32x4.extract_lane(acc, 3),
        );
      }
      if (i < n) {
        // The tail word, scalar: lane 0 holds the state of value i.
        let state = <u32>i32x4.extract_lane(st, 0);
        const inv1 = 1.0 / <f64>scale32;
        const lo64 = <f64>lo32;
        let word: i32 = 0;
        for (let shift = 0; i < n; shift += bits, i++) {
          let c = <i32>(
            (<f64>load<f32>(p0 + (i << 2)) - lo64) * inv1 +
            <f64>(state >>> 8) * (1.0 / 16777216.0)
          );
          if (c > levels) c = levels;
          word |= c << shift;
          state = state * LCG_A + LCG_C;
        }
        store<i32>(w, word);
        w += 4;
      }
      for (; w < wEnd; w += 4) store<i32>(w, 0);
    }
  }
  return 0;
}

/**
 * `actRestore` (same arguments and results: min + code * scale in float64, rounded once to
 * float32) two float64 lanes at a time. A code read in place as code * 2^(lane * bits) is
 * multiplied by scale * 2^-(lane * bits): both factors exact, so the one rounding is the same.
 */
export function actRestoreExact(
  words: i32,
  mins: i32,
  scales: i32,
  perSample: i32,
  bits: i32,
  first: i32,
  count: i32,
  out: i32,
): void {
  const group = 256;
  const gps = (perSample + group - 1) / group;
  const per = 32 / bits;
  const vecsPerWord = per / 4;
  const wordsPerGroup = group / per;
  const mask = (1 << bits) - 1;
  const laneMask = i32x4(mask, mask << bits, mask << (2 * bits), mask << (3 * bits));
  const down = <f64>1 / <f64>(1 << bits);
  for (let s = first; s < first + count; s++) {
    const base = (s - first) * perSample;
    for (let g = 0; g < gps; g++) {
      const gi = s * gps + g;
      const start = base + g * group;
      const n = min(group, perSample - g * group);
      const lo = <f64>load<f32>(mins + (gi << 2));
      const scale = <f64>load<f32>(scales + (gi << 2));
      const vlo = f64x2.splat(lo);
      const vmul = f64x2(scale, scale * down);
      const w0 = words + gi * wordsPerGroup * 4;
      const o0 = out + (start << 2);
      const whole = n / per;
      let i = 0;
      for (let k = 0; k < whole; k++) {
        const word = i32x4.splat(load<i32>(w0 + (k << 2)));
        for (let v = 0; v < vecsPerWord; v++, i += 4) {
          const c = v128.and(i32x4.shr_u(word, v * 4 * bits), laneMask);
          // Lanes 2 and 3 shifted down by 2 * bits: every lane then fits a signed conversion.
          const c23 = i32x4.shr_u(v128.shuffle<i32>(c, c, 2, 3, 0, 1), 2 * bits);
          const r01 = f64x2.add(vlo, f64x2.mul(f64x2.convert_low_i32x4_s(c), vmul));
          const r23 = f64x2.add(vlo, f64x2.mul(f64x2.convert_low_i32x4_s(c23), vmul));
          v128.store(
            o0 + (i << 2),
            v128.shuffle<f32>(f32x4.demote_f64x2_zero(r01), f32x4.demote_f64x2_zero(r23), 0, 1, 4, 5),
          );
        }
      }
      if (i < n) {
        const word = <u32>load<i32>(w0 + (whole << 2));
        for (let shift: u32 = 0; i < n; i++, shift += <u32>bits)
          store<f32>(o0 + (i << 2), <f32>(lo + <f64>((word >>> shift) & <u32>mask) * scale));
      }
    }
  }
}
