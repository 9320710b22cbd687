/**
 * Plain JS reference of the wasm integer kernels: the same integer codes and the same float32
 * operations in the same order, so the kernels must match it exactly (tests and benchmarks).
 */
import { type ActQuant, type ConvGeometry, convOutput } from './int-linear.js';

const f = Math.fround;

function anyNonZero(v: ArrayLike<number> | null): ArrayLike<number> | null {
  if (!v) return null;
  for (let i = 0; i < v.length; i++) if (v[i] !== 0) return v;
  return null;
}

/** Round half to even, like WebAssembly's `nearest`. */
export function roundEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function absMax(x: ArrayLike<number>, from: number, to: number): number {
  let m = 0;
  for (let i = from; i < to; i++) m = Math.max(m, Math.abs(x[i]));
  return m;
}

/** Int8-range codes of `rows` rows of `cols` floats and one scale per row. */
export function quantizeRef(
  x: ArrayLike<number>,
  rows: number,
  cols: number,
  act: ActQuant,
): { q: Int16Array; scales: Float32Array } {
  const q = new Int16Array(rows * cols);
  const scales = new Float32Array(rows);
  const tensorMax = act.mode === 'tensor' ? absMax(x, 0, rows * cols) : 0;
  for (let r = 0; r < rows; r++) {
    let scale: number;
    let inv: number;
    if (act.mode === 'static') {
      scale = f(act.scale);
      inv = scale > 0 ? f(1 / scale) : 0;
    } else {
      const amax = act.mode === 'row' ? absMax(x, r * cols, (r + 1) * cols) : tensorMax;
      scale = f(amax / 127);
      inv = amax > 0 ? f(127 / amax) : 0;
    }
    scales[r] = scale;
    for (let c = 0; c < cols; c++) {
      const v = roundEven(f(f(x[r * cols + c]) * inv));
      q[r * cols + c] = Math.min(127, Math.max(-127, v));
    }
  }
  return { q, scales };
}

/** The per-column epilogue of both kernels: scale, zero-point term, bias, ReLU. */
export interface EpilogueRef {
  scale: ArrayLike<number>;
  zero: ArrayLike<number> | null;
  bias: ArrayLike<number> | null;
  relu: boolean;
}

/** `ep` with an all-zero zero-point term dropped (the kernels skip it then). */
function withoutZeroTerm(ep: EpilogueRef): EpilogueRef {
  return { ...ep, zero: anyNonZero(ep.zero) };
}

function epilogue(acc: number, rowSum: number, rs: number, j: number, ep: EpilogueRef): number {
  let v = f(f(acc) * f(rs * ep.scale[j]));
  if (ep.zero) v = f(v + f(f(rowSum) * f(rs * ep.zero[j])));
  if (ep.bias) v = f(v + ep.bias[j]);
  return ep.relu ? Math.max(v, 0) : v;
}

/** y = epilogue(q[rows, k] . w[k, n]) with exact integer accumulation. */
export function gemmRef(
  q: ArrayLike<number>,
  rows: number,
  k: number,
  w: ArrayLike<number>,
  n: number,
  rowScales: ArrayLike<number>,
  epilogueSpec: EpilogueRef,
): Float32Array {
  const out = new Float32Array(rows * n);
  const ep = withoutZeroTerm(epilogueSpec);
  for (let r = 0; r < rows; r++) {
    let rowSum = 0;
    for (let i = 0; i < k; i++) rowSum += q[r * k + i];
    for (let j = 0; j < n; j++) {
      let acc = 0;
      for (let i = 0; i < k; i++) acc += q[r * k + i] * w[i * n + j];
      out[r * n + j] = epilogue(acc, rowSum, rowScales[r], j, ep);
    }
  }
  return out;
}

/** Direct (no im2col) integer convolution with the same epilogue; kernel codes [kh, kw, c, n]. */
export function conv2dRef(
  x: ArrayLike<number>,
  g: ConvGeometry,
  w: ArrayLike<number>,
  n: number,
  act: ActQuant,
  epilogueSpec: EpilogueRef,
): Float32Array {
  const per = g.h * g.w * g.c;
  const { q, scales } = quantizeRef(x, g.batch, per, act);
  const { oh, ow, padTop, padLeft } = convOutput(g);
  const ep = withoutZeroTerm(epilogueSpec);
  const out = new Float32Array(g.batch * oh * ow * n);
  for (let b = 0; b < g.batch; b++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        const acc = new Array<number>(n).fill(0);
        let rowSum = 0;
        for (let ky = 0; ky < g.kh; ky++) {
          const iy = oy * g.strides[0] - padTop + ky * g.dilations[0];
          if (iy < 0 || iy >= g.h) continue;
          for (let kx = 0; kx < g.kw; kx++) {
            const ix = ox * g.strides[1] - padLeft + kx * g.dilations[1];
            if (ix < 0 || ix >= g.w) continue;
            for (let c = 0; c < g.c; c++) {
              const xv = q[b * per + (iy * g.w + ix) * g.c + c];
              rowSum += xv;
              const wBase = ((ky * g.kw + kx) * g.c + c) * n;
              for (let j = 0; j < n; j++) acc[j] += xv * w[wBase + j];
            }
          }
        }
        const o = ((b * oh + oy) * ow + ox) * n;
        for (let j = 0; j < n; j++) out[o + j] = epilogue(acc[j], rowSum, scales[b], j, ep);
      }
    }
  }
  return out;
}
