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
