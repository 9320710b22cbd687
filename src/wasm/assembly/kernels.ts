// Integer inference kernels, AssemblyScript compiled to WebAssembly SIMD (see src/wasm/README.md).
// The module allocates nothing: every pointer is a byte offset into its memory, handed in by the
// JS heap manager (src/wasm/heap.ts). Layouts:
// - activations: int16 codes (int8 range, -127..127), rows of `kp` values (k padded to even);
// - int8 weights: blocks of 8 output channels; per pair of k, 16 bytes
//   [o0k0 o0k1 o1k0 o1k1 ... o7k0 o7k1] (signed); a block is kp * 8 bytes;
// - int4 weights: blocks of 8 outputs; per pair of k, 8 bytes; byte j holds lane j of outputs
//   0..3 (same order as above) in its low nibble and lane j of outputs 4..7 in its high nibble
//   (signed nibbles); a block is kp * 4 bytes.
// Accumulation is int32 (i32x4.dot_i16x8_s); the epilogue is float32:
//   y = f32(acc) * (rowScale * colScale) [+ f32(rowSum) * (rowScale * colZero)] [+ bias], [ReLU].

/** First free byte after the module's own data: the JS heap starts here. */
export function heapBase(): i32 {
  return <i32>__heap_base;
}

/**
 * Quantizes float rows to int16 codes in the int8 range. mode 0: one scale per row
 * (max|x| / 127); 1: one scale for all rows; 2: the given static scale (values beyond are clamped).
 * Writes `rows` scales to `scales` and pads each row with zeros from `cols` to `colsPad`.
 */
export function quantize(
  x: i32,
  rows: i32,
  cols: i32,
  colsPad: i32,
  out: i32,
  scales: i32,
  mode: i32,
  fixedScale: f32,
): void {
  let tensorMax: f32 = 0;
  if (mode == 1) {
    for (let r = 0; r < rows; r++) {
      const m = rowAbsMax(x + r * cols * 4, cols);
      if (m > tensorMax) tensorMax = m;
    }
  }
  for (let r = 0; r < rows; r++) {
    const src = x + r * cols * 4;
    const dst = out + r * colsPad * 2;
    let amax: f32 = 0;
    let scale: f32 = 0;
    if (mode == 0) {
      amax = rowAbsMax(src, cols);
      scale = amax / 127;
    } else if (mode == 1) {
      amax = tensorMax;
      scale = amax / 127;
    } else {
      scale = fixedScale;
      amax = fixedScale * 127;
    }
    store<f32>(scales + r * 4, scale);
    // Multiply by the inverse: 127 / max|x| (dynamic) or 1 / scale (static).
    let invS: f32 = 0;
    if (mode == 2) invS = scale > 0 ? <f32>1 / scale : 0;
    else invS = amax > 0 ? <f32>127 / amax : 0;
    const vinv = f32x4.splat(invS);
    const vlo = f32x4.splat(-127);
    const vhi = f32x4.splat(127);
    let c = 0;
    for (; c + 8 <= cols; c += 8) {
      const a = f32x4.nearest(f32x4.mul(v128.load(src + c * 4), vinv));
      const b = f32x4.nearest(f32x4.mul(v128.load(src + c * 4 + 16), vinv));
      const ia = i32x4.trunc_sat_f32x4_s(f32x4.min(f32x4.max(a, vlo), vhi));
      const ib = i32x4.trunc_sat_f32x4_s(f32x4.min(f32x4.max(b, vlo), vhi));
      v128.store(dst + c * 2, i16x8.narrow_i32x4_s(ia, ib));
    }
    for (; c < cols; c++) {
      let q = nearest<f32>(load<f32>(src + c * 4) * invS);
      if (q > 127) q = 127;
      if (q < -127) q = -127;
      store<i16>(dst + c * 2, <i16>(<i32>q));
    }
    for (; c < colsPad; c++) store<i16>(dst + c * 2, 0);
  }
}

// @ts-expect-error: decorator
@inline
function rowAbsMax(src: i32, cols: i32): f32 {
  let vm = f32x4.splat(0);
  let c = 0;
  for (; c + 4 <= cols; c += 4) vm = f32x4.max(vm, f32x4.abs(v128.load(src + c * 4)));
  let m: f32 = max(
    max(f32x4.extract_lane(vm, 0), f32x4.extract_lane(vm, 1)),
    max(f32x4.extract_lane(vm, 2), f32x4.extract_lane(vm, 3)),
  );
  for (; c < cols; c++) {
    const v = abs<f32>(load<f32>(src + c * 4));
    if (v > m) m = v;
  }
  return m;
}

/** Epilogue for 4 outputs of one row: accumulators to floats, stored to out (n valid lanes). */
// @ts-expect-error: decorator
@inline
function epilogue(
  acc: v128,
  rowScale: f32,
  rowSum: i32,
  colScale: i32,
  colZero: i32,
  bias: i32,
  relu: i32,
  out: i32,
  n0: i32,
  n: i32,
): void {
  const rs = f32x4.splat(rowScale);
  let v = f32x4.mul(f32x4.convert_i32x4_s(acc), f32x4.mul(rs, v128.load(colScale + n0 * 4)));
  if (colZero != 0) {
    const zs = f32x4.mul(rs, v128.load(colZero + n0 * 4));
    v = f32x4.add(v, f32x4.mul(f32x4.splat(<f32>rowSum), zs));
  }
  if (bias != 0) v = f32x4.add(v, v128.load(bias + n0 * 4));
  if (relu != 0) v = f32x4.max(v, f32x4.splat(0));
  if (n0 + 4 <= n) {
    v128.store(out + n0 * 4, v);
  } else {
    if (n0 < n) store<f32>(out + n0 * 4, f32x4.extract_lane(v, 0));
    if (n0 + 1 < n) store<f32>(out + n0 * 4 + 4, f32x4.extract_lane(v, 1));
    if (n0 + 2 < n) store<f32>(out + n0 * 4 + 8, f32x4.extract_lane(v, 2));
  }
}

// @ts-expect-error: decorator
@inline
function rowSumOf(a: i32, kp: i32): i32 {
  let vs = i32x4.splat(0);
  const ones = i16x8.splat(1);
  let k = 0;
  for (; k + 8 <= kp; k += 8) vs = i32x4.add(vs, i32x4.dot_i16x8_s(v128.load(a + k * 2), ones));
  let s =
    i32x4.extract_lane(vs, 0) +
    i32x4.extract_lane(vs, 1) +
    i32x4.extract_lane(vs, 2) +
    i32x4.extract_lane(vs, 3);
  for (; k < kp; k++) s += <i32>load<i16>(a + k * 2);
  return s;
}

/**
 * y[rows, n] = epilogue(a[rows, kp] . w), with a int16 codes, w packed int8 (bits 8) or int4
 * (bits 4) blocks of 8 outputs (np = blocks * 8 >= n). Pointers colZero and bias may be 0 (none).
 * `rowScales` holds one float per row; `outStride` is the float stride between output rows.
 */
export function gemm(
  a: i32,
  rows: i32,
  kp: i32,
  w: i32,
  bits: i32,
  n: i32,
  rowScales: i32,
  colScale: i32,
  colZero: i32,
  bias: i32,
  relu: i32,
  out: i32,
  outStride: i32,
): void {
  const blocks = (n + 7) >> 3;
  const blockBytes = bits == 4 ? kp * 4 : kp * 8;
  let r = 0;
  for (; r + 4 <= rows; r += 4) {
    const a0 = a + r * kp * 2;
    const a1 = a0 + kp * 2;
    const a2 = a1 + kp * 2;
    const a3 = a2 + kp * 2;
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    if (colZero != 0) {
      s0 = rowSumOf(a0, kp);
      s1 = rowSumOf(a1, kp);
      s2 = rowSumOf(a2, kp);
      s3 = rowSumOf(a3, kp);
    }
    for (let b = 0; b < blocks; b++) {
      let c00 = i32x4.splat(0);
      let c01 = i32x4.splat(0);
      let c10 = i32x4.splat(0);
      let c11 = i32x4.splat(0);
      let c20 = i32x4.splat(0);
      let c21 = i32x4.splat(0);
      let c30 = i32x4.splat(0);
      let c31 = i32x4.splat(0);
      let wp = w + b * blockBytes;
      if (bits == 4) {
        for (let k = 0; k < kp; k += 2, wp += 8) {
          const v = v128.load8x8_s(wp);
          const w0 = i16x8.shr_s(i16x8.shl(v, 12), 12);
          const w1 = i16x8.shr_s(v, 4);
          const x0 = v128.load32_splat(a0 + k * 2);
          const x1 = v128.load32_splat(a1 + k * 2);
          const x2 = v128.load32_splat(a2 + k * 2);
          const x3 = v128.load32_splat(a3 + k * 2);
          c00 = i32x4.add(c00, i32x4.dot_i16x8_s(x0, w0));
          c01 = i32x4.add(c01, i32x4.dot_i16x8_s(x0, w1));
          c10 = i32x4.add(c10, i32x4.dot_i16x8_s(x1, w0));
          c11 = i32x4.add(c11, i32x4.dot_i16x8_s(x1, w1));
          c20 = i32x4.add(c20, i32x4.dot_i16x8_s(x2, w0));
          c21 = i32x4.add(c21, i32x4.dot_i16x8_s(x2, w1));
          c30 = i32x4.add(c30, i32x4.dot_i16x8_s(x3, w0));
          c31 = i32x4.add(c31, i32x4.dot_i16x8_s(x3, w1));
        }
      } else {
        for (let k = 0; k < kp; k += 2, wp += 16) {
          const w0 = v128.load8x8_s(wp);
          const w1 = v128.load8x8_s(wp + 8);
          const x0 = v128.load32_splat(a0 + k * 2);
          const x1 = v128.load32_splat(a1 + k * 2);
          const x2 = v128.load32_splat(a2 + k * 2);
          const x3 = v128.load32_splat(a3 + k * 2);
          c00 = i32x4.add(c00, i32x4.dot_i16x8_s(x0, w0));
          c01 = i32x4.add(c01, i32x4.dot_i16x8_s(x0, w1));
          c10 = i32x4.add(c10, i32x4.dot_i16x8_s(x1, w0));
          c11 = i32x4.add(c11, i32x4.dot_i16x8_s(x1, w1));
          c20 = i32x4.add(c20, i32x4.dot_i16x8_s(x2, w0));
          c21 = i32x4.add(c21, i32x4.dot_i16x8_s(x2, w1));
          c30 = i32x4.add(c30, i32x4.dot_i16x8_s(x3, w0));
          c31 = i32x4.add(c31, i32x4.dot_i16x8_s(x3, w1));
        }
      }
      const n0 = b * 8;
      const o0 = out + r * outStride * 4;
      const o1 = o0 + outStride * 4;
      const o2 = o1 + outStride * 4;
      const o3 = o2 + outStride * 4;
      const r0 = load<f32>(rowScales + r * 4);
      const r1 = load<f32>(rowScales + r * 4 + 4);
      const r2 = load<f32>(rowScales + r * 4 + 8);
      const r3 = load<f32>(rowScales + r * 4 + 12);
      epilogue(c00, r0, s0, colScale, colZero, bias, relu, o0, n0, n);
      epilogue(c01, r0, s0, colScale, colZero, bias, relu, o0, n0 + 4, n);
      epilogue(c10, r1, s1, colScale, colZero, bias, relu, o1, n0, n);
      epilogue(c11, r1, s1, colScale, colZero, bias, relu, o1, n0 + 4, n);
      epilogue(c20, r2, s2, colScale, colZero, bias, relu, o2, n0, n);
      epilogue(c21, r2, s2, colScale, colZero, bias, relu, o2, n0 + 4, n);
      epilogue(c30, r3, s3, colScale, colZero, bias, relu, o3, n0, n);
      epilogue(c31, r3, s3, colScale, colZero, bias, relu, o3, n0 + 4, n);
    }
  }
  for (; r < rows; r++) {
    const a0 = a + r * kp * 2;
    const s0 = colZero != 0 ? rowSumOf(a0, kp) : 0;
    const r0 = load<f32>(rowScales + r * 4);
    const o0 = out + r * outStride * 4;
    let b = 0;
    // Two blocks (16 outputs) per pass over the row: one splat feeds four dot products.
    for (; b + 2 <= blocks; b += 2) {
      let c0 = i32x4.splat(0);
      let c1 = i32x4.splat(0);
      let c2 = i32x4.splat(0);
      let c3 = i32x4.splat(0);
      let wp = w + b * blockBytes;
      let wq = wp + blockBytes;
      if (bits == 4) {
        for (let k = 0; k < kp; k += 2, wp += 8, wq += 8) {
          const x0 = v128.load32_splat(a0 + k * 2);
          const v = v128.load8x8_s(wp);
          const u = v128.load8x8_s(wq);
          c0 = i32x4.add(c0, i32x4.dot_i16x8_s(x0, i16x8.shr_s(i16x8.shl(v, 12), 12)));
          c1 = i32x4.add(c1, i32x4.dot_i16x8_s(x0, i16x8.shr_s(v, 4)));
          c2 = i32x4.add(c2, i32x4.dot_i16x8_s(x0, i16x8.shr_s(i16x8.shl(u, 12), 12)));
          c3 = i32x4.add(c3, i32x4.dot_i16x8_s(x0, i16x8.shr_s(u, 4)));
        }
      } else {
        for (let k = 0; k < kp; k += 2, wp += 16, wq += 16) {
          const x0 = v128.load32_splat(a0 + k * 2);
          c0 = i32x4.add(c0, i32x4.dot_i16x8_s(x0, v128.load8x8_s(wp)));
          c1 = i32x4.add(c1, i32x4.dot_i16x8_s(x0, v128.load8x8_s(wp + 8)));
          c2 = i32x4.add(c2, i32x4.dot_i16x8_s(x0, v128.load8x8_s(wq)));
          c3 = i32x4.add(c3, i32x4.dot_i16x8_s(x0, v128.load8x8_s(wq + 8)));
        }
      }
      const n0 = b * 8;
      epilogue(c0, r0, s0, colScale, colZero, bias, relu, o0, n0, n);
      epilogue(c1, r0, s0, colScale, colZero, bias, relu, o0, n0 + 4, n);
      epilogue(c2, r0, s0, colScale, colZero, bias, relu, o0, n0 + 8, n);
      epilogue(c3, r0, s0, colScale, colZero, bias, relu, o0, n0 + 12, n);
    }
    for (; b < blocks; b++) {
      let c0 = i32x4.splat(0);
      let c1 = i32x4.splat(0);
      let wp = w + b * blockBytes;
      if (bits == 4) {
        for (let k = 0; k < kp; k += 2, wp += 8) {
          const x0 = v128.load32_splat(a0 + k * 2);
          const v = v128.load8x8_s(wp);
          c0 = i32x4.add(c0, i32x4.dot_i16x8_s(x0, i16x8.shr_s(i16x8.shl(v, 12), 12)));
          c1 = i32x4.add(c1, i32x4.dot_i16x8_s(x0, i16x8.shr_s(v, 4)));
        }
      } else {
        for (let k = 0; k < kp; k += 2, wp += 16) {
          const x0 = v128.load32_splat(a0 + k * 2);
          c0 = i32x4.add(c0, i32x4.dot_i16x8_s(x0, v128.load8x8_s(wp)));
          c1 = i32x4.add(c1, i32x4.dot_i16x8_s(x0, v128.load8x8_s(wp + 8)));
        }
      }
      const n0 = b * 8;
      epilogue(c0, r0, s0, colScale, colZero, bias, relu, o0, n0, n);
      epilogue(c1, r0, s0, colScale, colZero, bias, relu, o0, n0 + 4, n);
    }
  }
}

/**
 * Rows [row0, row0 + count) of the im2col matrix of quantized NHWC input `xq` (int16 codes,
 * c channels) into `dst` (rows of kp int16, zeros for padding and k beyond kh*kw*c).
 */
function im2col(
  xq: i32,
  h: i32,
  w: i32,
  c: i32,
  kh: i32,
  kw: i32,
  sh: i32,
  sw: i32,
  dh: i32,
  dw: i32,
  padTop: i32,
  padLeft: i32,
  oh: i32,
  ow: i32,
  kp: i32,
  row0: i32,
  count: i32,
  dst: i32,
): void {
  const k = kh * kw * c;
  for (let i = 0; i < count; i++) {
    const row = row0 + i;
    const b = row / (oh * ow);
    const pix = row - b * oh * ow;
    const oy = pix / ow;
    const ox = pix - oy * ow;
    const d = dst + i * kp * 2;
    let o = d;
    for (let ky = 0; ky < kh; ky++) {
      const iy = oy * sh - padTop + ky * dh;
      for (let kx = 0; kx < kw; kx++, o += c * 2) {
        const ix = ox * sw - padLeft + kx * dw;
        if (iy < 0 || iy >= h || ix < 0 || ix >= w) {
          zeroCodes(o, c);
        } else {
          const s = xq + (((b * h + iy) * w + ix) * c) * 2;
          if (c == 1) store<i16>(o, load<i16>(s));
          else copyCodes(o, s, c);
        }
      }
    }
    if (kp > k) zeroCodes(d + k * 2, kp - k);
  }
}

// Short copies and fills in line: V8 runs memory.copy / memory.fill through a call, which
// costs more than the few vectors an im2col tap moves.
// @ts-expect-error: decorator
@inline
function copyCodes(dst: i32, src: i32, count: i32): void {
  let i = 0;
  for (; i + 8 <= count; i += 8) v128.store(dst + i * 2, v128.load(src + i * 2));
  for (; i < count; i++) store<i16>(dst + i * 2, load<i16>(src + i * 2));
}

// @ts-expect-error: decorator
@inline
function zeroCodes(dst: i32, count: i32): void {
  let i = 0;
  for (; i + 8 <= count; i += 8) v128.store(dst + i * 2, i32x4.splat(0));
  for (; i < count; i++) store<i16>(dst + i * 2, 0);
}

/** Output pixels per im2col block: the block (rows x kp int16) stays in cache for the GEMM. */
const CONV_BLOCK: i32 = 64;

/**
 * Convolution (NHWC, kernel [kh, kw, c, n] packed like a GEMM kernel with k = kh*kw*c) of
 * quantized input `xq` ([batch, h, w, c] int16 codes, one scale per sample in `sampleScales`)
 * through im2col blocks onto `gemm`. `scratch` holds CONV_BLOCK * kp int16 and CONV_BLOCK floats.
 */
export function conv2d(
  xq: i32,
  batch: i32,
  h: i32,
  w: i32,
  c: i32,
  kh: i32,
  kw: i32,
  sh: i32,
  sw: i32,
  dh: i32,
  dw: i32,
  padTop: i32,
  padLeft: i32,
  oh: i32,
  ow: i32,
  kp: i32,
  wts: i32,
  bits: i32,
  n: i32,
  sampleScales: i32,
  colScale: i32,
  colZero: i32,
  bias: i32,
  relu: i32,
  out: i32,
  scratch: i32,
): void {
  const total = batch * oh * ow;
  const rowScales = scratch + CONV_BLOCK * kp * 2;
  for (let row0 = 0; row0 < total; row0 += CONV_BLOCK) {
    const count = min(CONV_BLOCK, total - row0);
    im2col(xq, h, w, c, kh, kw, sh, sw, dh, dw, padTop, padLeft, oh, ow, kp, row0, count, scratch);
    for (let i = 0; i < count; i++) {
      const b = (row0 + i) / (oh * ow);
      store<f32>(rowScales + i * 4, load<f32>(sampleScales + b * 4));
    }
    gemm(
      scratch,
      count,
      kp,
      wts,
      bits,
      n,
      rowScales,
      colScale,
      colZero,
      bias,
      relu,
      out + row0 * n * 4,
      n,
    );
  }
}

/** Scratch bytes `conv2d` needs for a given kp. */
export function conv2dScratchBytes(kp: i32): i32 {
  return CONV_BLOCK * kp * 2 + CONV_BLOCK * 4;
}

export {
  actApplyMask,
  actApplyMaskSum,
  actDenseInputGrad,
  actPackPositive,
  actPoolArgmax,
  actPoolScatter,
  actTranspose,
} from './act-codec';
export { actMulberrySeeds } from './act-exact';
export { actQuantizeAs, actRestoreAs } from './act-groups';
export * from './int-plan';
