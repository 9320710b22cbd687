import type { Mat } from './matrix.js';

/** Dense row-major float64 tensor (last index fastest, the tfjs layout). */
export interface Tensor64 {
  shape: number[];
  data: Float64Array;
}

export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function tensorFrom(shape: number[], values: ArrayLike<number>): Tensor64 {
  if (values.length !== sizeOf(shape)) {
    throw new Error(`tensor [${shape}] needs ${sizeOf(shape)} values, got ${values.length}`);
  }
  return { shape: [...shape], data: Float64Array.from(values) };
}

function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

function checkMode(shape: readonly number[], mode: number): void {
  if (!Number.isInteger(mode) || mode < 0 || mode >= shape.length) {
    throw new Error(`mode ${mode} is out of range for a tensor of order ${shape.length}`);
  }
}

/**
 * Mode-n unfolding: a matrix I_n x (product of the other sizes) whose columns run over the
 * remaining indices in their original order, last index fastest. With this convention a CP
 * tensor satisfies unfold(X, n) = A_n khatriRao(A_others in order)^T.
 */
export function unfold(t: Tensor64, mode: number): Mat {
  checkMode(t.shape, mode);
  const In = t.shape[mode];
  const rest = t.data.length / In;
  const out = new Float64Array(t.data.length);
  const st = strides(t.shape);
  const outer = sizeOf(t.shape.slice(0, mode));
  const inner = st[mode];
  // Index = o * (In * inner) + i * inner + r  ->  row i, column o * inner + r.
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < In; i++) {
      const src = o * In * inner + i * inner;
      const dst = i * rest + o * inner;
      for (let r = 0; r < inner; r++) out[dst + r] = t.data[src + r];
    }
  }
  return { rows: In, cols: rest, data: out };
}

/** Inverse of `unfold`. */
export function fold(m: Mat, mode: number, shape: number[]): Tensor64 {
  checkMode(shape, mode);
  if (m.rows !== shape[mode] || m.rows * m.cols !== sizeOf(shape)) {
    throw new Error(
      `fold: a ${m.rows}x${m.cols} matrix is not a mode-${mode} unfolding of [${shape}]`,
    );
  }
  const In = shape[mode];
  const out = new Float64Array(m.data.length);
  const inner = strides(shape)[mode];
  const outer = sizeOf(shape.slice(0, mode));
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < In; i++) {
      const dst = o * In * inner + i * inner;
      const src = i * m.cols + o * inner;
      for (let r = 0; r < inner; r++) out[dst + r] = m.data[src + r];
    }
  }
  return { shape: [...shape], data: out };
}

/** Reorders the axes of a tensor: result axis k is input axis perm[k]. */
export function permute(t: Tensor64, perm: number[]): Tensor64 {
  const n = t.shape.length;
  if (perm.length !== n || [...perm].sort((a, b) => a - b).some((p, i) => p !== i)) {
    throw new Error(`permute: [${perm}] is not a permutation of ${n} axes`);
  }
  const shape = perm.map((p) => t.shape[p]);
  const inStrides = strides(t.shape);
  const s = perm.map((p) => inStrides[p]);
  const out = new Float64Array(t.data.length);
  const idx = new Array<number>(n).fill(0);
  let src = 0;
  for (let k = 0; k < out.length; k++) {
    out[k] = t.data[src];
    for (let ax = n - 1; ax >= 0; ax--) {
      idx[ax]++;
      src += s[ax];
      if (idx[ax] < shape[ax]) break;
      src -= s[ax] * shape[ax];
      idx[ax] = 0;
    }
  }
  return { shape, data: out };
}

export function tensorNorm(t: Tensor64): number {
  let s = 0;
  for (let i = 0; i < t.data.length; i++) s += t.data[i] * t.data[i];
  return Math.sqrt(s);
}
