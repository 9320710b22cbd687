// One pass of Adam in WebAssembly SIMD, on buffers inside tfjs-backend-wasm's own memory: this
// module imports that memory (built twice, for the threaded build's shared memory and for the
// plain one) and allocates nothing, so it has no data segments; every pointer is a byte offset
// into tfjs's heap. float32 +, *, / and sqrt are correctly rounded, so with the operations in
// FrugalAdam's order (src/train/adam-kernel.ts) the results equal its elementwise kernels' bit
// for bit.

import { transpose4x4 } from './tile';

/**
 * m' = m b1 + g k1;  v' = v b2 + g^2 k2;  w' = (m' / c1) / (sqrt(v' / c2) + eps) * negLr + w
 * over n floats (n % 4 == 0 is not required; the tail runs scalar).
 */
export function adamUpdate(
  w: usize,
  m: usize,
  v: usize,
  g: usize,
  outW: usize,
  outM: usize,
  outV: usize,
  n: i32,
  b1: f32,
  b2: f32,
  k1: f32,
  k2: f32,
  c1: f32,
  c2: f32,
  eps: f32,
  negLr: f32,
): void {
  const vb1 = f32x4.splat(b1);
  const vb2 = f32x4.splat(b2);
  const vk1 = f32x4.splat(k1);
  const vk2 = f32x4.splat(k2);
  const vc1 = f32x4.splat(c1);
  const vc2 = f32x4.splat(c2);
  const veps = f32x4.splat(eps);
  const vlr = f32x4.splat(negLr);
  const full = n & ~3;
  for (let i = 0; i < full; i += 4) {
    const o = <usize>i << 2;
    const gi = v128.load(g + o);
    const mi = f32x4.add(f32x4.mul(v128.load(m + o), vb1), f32x4.mul(gi, vk1));
    const vi = f32x4.add(f32x4.mul(v128.load(v + o), vb2), f32x4.mul(f32x4.mul(gi, gi), vk2));
    v128.store(outM + o, mi);
    v128.store(outV + o, vi);
    const d = f32x4.add(f32x4.sqrt(f32x4.div(vi, vc2)), veps);
    const u = f32x4.mul(f32x4.div(f32x4.div(mi, vc1), d), vlr);
    v128.store(outW + o, f32x4.add(u, v128.load(w + o)));
  }
  for (let i = full; i < n; i++) {
    const o = <usize>i << 2;
    const gi = load<f32>(g + o);
    const mi = load<f32>(m + o) * b1 + gi * k1;
    const vi = load<f32>(v + o) * b2 + gi * gi * k2;
    store<f32>(outM + o, mi);
    store<f32>(outV + o, vi);
    const d = Mathf.sqrt(vi / c2) + eps;
    store<f32>(outW + o, (mi / c1 / d) * negLr + load<f32>(w + o));
  }
}

/**
 * MaxPoolGrad of a 2x2, stride-2, unpadded NHWC max pool with c % 4 == 0 (windows do not
 * overlap): dx [n, h, w, c] gets each window's dy at its first maximum in scan order, zero
 * elsewhere; a value not above -Infinity (NaN included) is never a maximum.
 */
export function maxPoolGrad2x2(
  x: usize,
  dy: usize,
  dx: usize,
  n: i32,
  h: i32,
  w: i32,
  c: i32,
  oh: i32,
  ow: i32,
): void {
  memory.fill(dx, 0, <usize>(n * h * w * c) << 2);
  const row = <usize>(w * c) << 2;
  const px = <usize>c << 2;
  const ninf = f32x4.splat(-Infinity);
  const zero = f32x4.splat(0);
  const one = i32x4.splat(1);
  const two = i32x4.splat(2);
  const three = i32x4.splat(3);
  const none = i32x4.splat(-1);
  let g = dy;
  for (let b = 0; b < n; b++) {
    const base = <usize>(b * h * w * c) << 2;
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++) {
        const p0 = base + <usize>(2 * i) * row + <usize>(2 * j) * px;
        const p1 = p0 + px;
        const p2 = p0 + row;
        const p3 = p2 + px;
        for (let k: usize = 0; k < px; k += 16) {
          let best = ninf;
          let where = none;
          let v = v128.load(x + p0 + k);
          let gt = f32x4.gt(v, best);
          best = v128.bitselect(v, best, gt);
          where = v128.bitselect(i32x4.splat(0), where, gt);
          v = v128.load(x + p1 + k);
          gt = f32x4.gt(v, best);
          best = v128.bitselect(v, best, gt);
          where = v128.bitselect(one, where, gt);
          v = v128.load(x + p2 + k);
          gt = f32x4.gt(v, best);
          best = v128.bitselect(v, best, gt);
          where = v128.bitselect(two, where, gt);
          v = v128.load(x + p3 + k);
          gt = f32x4.gt(v, best);
          where = v128.bitselect(three, where, gt);
          const d = v128.load(g + k);
          v128.store(dx + p0 + k, v128.bitselect(d, zero, i32x4.eq(where, i32x4.splat(0))));
          v128.store(dx + p1 + k, v128.bitselect(d, zero, i32x4.eq(where, one)));
          v128.store(dx + p2 + k, v128.bitselect(d, zero, i32x4.eq(where, two)));
          v128.store(dx + p3 + k, v128.bitselect(d, zero, i32x4.eq(where, three)));
        }
        g += px;
      }
    }
  }
}

/** out[p, a, k] = in[a, p, k] for in [a, p, k] (blocks of k floats; k % 4 == 0). */
export function transposeBlocks(src: usize, dst: usize, a: i32, p: i32, k: i32): void {
  const kb = <usize>k << 2;
  for (let q = 0; q < p; q++) {
    let d = dst + <usize>q * <usize>a * kb;
    let s = src + <usize>q * kb;
    const step = <usize>p * kb;
    for (let i = 0; i < a; i++) {
      for (let e: usize = 0; e < kb; e += 16) v128.store(d + e, v128.load(s + e));
      d += kb;
      s += step;
    }
  }
}

/**
 * out[c, p, a] = in[a, p, c] for in [a, p, c] with a % 4 == 0 and c % 4 == 0: per p, a 2-D
 * transpose of the [a, c] slab by 4x4 tiles.
 */
export function transposeOuter(src: usize, dst: usize, a: i32, p: i32, c: i32): void {
  const inRow = <usize>(p * c) << 2; // from in[i, q, :] to in[i + 1, q, :]
  const outRow = <usize>(p * a) << 2; // from out[j, q, :] to out[j + 1, q, :]
  for (let q = 0; q < p; q++) {
    const s0 = src + (<usize>(q * c) << 2);
    const d0 = dst + (<usize>(q * a) << 2);
    for (let i = 0; i < a; i += 4) {
      const si = s0 + <usize>i * inRow;
      for (let j = 0; j < c; j += 4) {
        const s = si + (<usize>j << 2);
        transpose4x4(s, inRow, d0 + <usize>j * outRow + (<usize>i << 2), outRow);
      }
    }
  }
}

/**
 * ReLU's gradient as tfjs computes it, dy * step(x) (step: 1 above 0, 0 otherwise, NaN for NaN),
 * over n floats in one pass.
 */
export function reluGrad(dy: usize, x: usize, out: usize, n: i32): void {
  const one = f32x4.splat(1);
  const zero = f32x4.splat(0);
  const full = n & ~3;
  for (let i = 0; i < full; i += 4) {
    const o = <usize>i << 2;
    const xv = v128.load(x + o);
    let s = v128.bitselect(one, zero, f32x4.gt(xv, zero));
    s = v128.bitselect(xv, s, f32x4.ne(xv, xv));
    v128.store(out + o, f32x4.mul(v128.load(dy + o), s));
  }
  for (let i = full; i < n; i++) {
    const o = <usize>i << 2;
    const xi = load<f32>(x + o);
    const s: f32 = xi != xi ? xi : xi > 0 ? 1 : 0;
    store<f32>(out + o, load<f32>(dy + o) * s);
  }
}
