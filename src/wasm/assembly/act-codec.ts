import { transpose4x4 } from './tile';

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
  // 32 / bits codes a word: word o >> sp, slot o & (per - 1) (shifts, not divisions).
  const sp = 5 - <i32>ctz(bits);
  let o = o0;
  for (let b = 0; b < n; b++)
    for (let r = 0; r < outH; r++)
      for (let q = 0; q < outW; q++) {
        // The window's rows i0 <= i < i1 and columns j0 <= j < j1 inside the input, once per
        // output (the same visits, in the same order, as testing each cell's bounds).
        const y0 = r * sh - top;
        const x0 = q * sw - left;
        const i0 = max(0, -y0);
        const i1 = min(ph, h - y0);
        const j0 = max(0, -x0);
        const j1 = min(pw, w - x0);
        let ch = 0;
        if ((c & 3) == 0) {
          for (; ch < c; ch += 4, o += 4) {
            let best = f32x4.splat(-Infinity);
            let at = i32x4.splat(0);
            for (let i = i0; i < i1; i++) {
              const y = y0 + i;
              for (let j = j0; j < j1; j++) {
                const xx = x0 + j;
                const v = v128.load(x + ((((b * h + y) * w + xx) * c + ch) << 2));
                const m = f32x4.gt(v, best);
                best = v128.bitselect(v, best, m);
                at = v128.bitselect(i32x4.splat(i * pw + j), at, m);
              }
            }
            writeCode(words, o, i32x4.extract_lane(at, 0), bits, sp);
            writeCode(words, o + 1, i32x4.extract_lane(at, 1), bits, sp);
            writeCode(words, o + 2, i32x4.extract_lane(at, 2), bits, sp);
            writeCode(words, o + 3, i32x4.extract_lane(at, 3), bits, sp);
          }
        }
        for (; ch < c; ch++, o++) {
          let best: f32 = -Infinity;
          let at = 0;
          for (let i = i0; i < i1; i++) {
            const y = y0 + i;
            for (let j = j0; j < j1; j++) {
              const xx = x0 + j;
              const v = load<f32>(x + ((((b * h + y) * w + xx) * c + ch) << 2));
              if (v > best) {
                best = v;
                at = i * pw + j;
              }
            }
          }
          writeCode(words, o, at, bits, sp);
        }
      }
}

@inline
function writeCode(words: i32, o: i32, code: i32, bits: i32, sp: i32): void {
  const p = words + ((o >>> sp) << 2);
  store<u32>(p, load<u32>(p) | ((<u32>code) << ((o & ((1 << sp) - 1)) * bits)));
}

/** Window rows and columns of the codes 0 .. 255 (`actPoolScatter`'s table: no divisions). */
const POOL_TABLE = memory.data(2 * 256 * 4, 16);

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
  const mask = (1 << bits) - 1;
  for (let code = 0; code <= mask; code++) {
    store<i32>(POOL_TABLE + (code << 2), code / pw);
    store<i32>(POOL_TABLE + 1024 + (code << 2), code % pw);
  }
  // The codes in order, one word read per 32 / bits of them.
  let k = o0;
  let word = load<u32>(words + ((k >>> (5 - <i32>ctz(bits))) << 2));
  let shift = (k & (32 / bits - 1)) * bits;
  word >>>= <u32>shift;
  let o = 0;
  for (let b = 0; b < n; b++)
    for (let r = 0; r < outH; r++)
      for (let q = 0; q < outW; q++) {
        const y0 = r * sh - top;
        const x0 = q * sw - left;
        for (let ch = 0; ch < c; ch++, o++) {
          if (shift == 32) {
            k = o0 + o;
            word = load<u32>(words + ((k >>> (5 - <i32>ctz(bits))) << 2));
            shift = 0;
          }
          const code = <i32>(word & mask);
          word >>>= <u32>bits;
          shift += bits;
          const y = y0 + load<i32>(POOL_TABLE + (code << 2));
          const xx = x0 + load<i32>(POOL_TABLE + 1024 + (code << 2));
          if (y < 0 || y >= h || xx < 0 || xx >= w) continue;
          const p = dx + ((((b * h + y) * w + xx) * c + ch) << 2);
          store<f32>(p, load<f32>(p) + load<f32>(dy + (o << 2)));
        }
      }
}

// The SIMD quantizer's groups (ACT_SIMD of act-groups.ts, the 'wasm-simd' codec; its restore is
// act-exact.ts's `restoreLanes` in float32): float32 arithmetic and a
// counter-based dither, u = (hash(seed + index * golden) >>> 8) * 2^-24 with the group's seed
// and the value's index in the group, so no value's dither waits for another's. The hash's index
// term advances by one add per vector, and the code is floor()ed and clamped in float32 and read
// from the float's mantissa (x + 2^23), instead of a saturating truncation (several instructions
// on x86) and integer clamps: floor and trunc agree on every value >= 0 and both clamp to 0
// below it.

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

/**
 * One group of the SIMD quantizer at sizeof<T>() bits (float32 arithmetic and the counter-based
 * dither, see above: unbiased with the JS path's variance, not its stream): the `n` values at
 * `p0`, min `lo` and step `scale` > 0, seeded by `seed`, packed from `w` on. Returns the address
 * after the last word written.
 */
@inline
export function quantizeSimdGroup<T>(
  p0: i32,
  n: i32,
  lo: f32,
  scale: f32,
  seed: u32,
  w: i32,
): i32 {
  const bits = <i32>sizeof<T>();
  const levels = (1 << bits) - 1;
  const per = 32 / bits;
  const vecsPerWord = per / 4;
  const u24: f32 = 1.0 / 16777216.0;
  const laneMul = i32x4(1, 1 << bits, 1 << (2 * bits), 1 << (3 * bits));
  const vU24 = f32x4.splat(u24);
  const vZero = f32x4.splat(0);
  const vTop = f32x4.splat(<f32>levels);
  const vMagic = f32x4.splat(8388608.0);
  const vCode = i32x4.splat(levels);
  const golden: u32 = 0x9e3779b9;
  const step = i32x4.splat(golden * 4);
  // seed + index * golden for the four lanes, advanced by 4 * golden per vector.
  let hidx = i32x4.add(i32x4.splat(seed), i32x4(0, golden, golden * 2, golden * 3));
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
  return w;
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
      const d = dst + c * dRow + (r << 2);
      transpose4x4(<usize>s, <usize>sRow, <usize>d, <usize>dRow);
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

