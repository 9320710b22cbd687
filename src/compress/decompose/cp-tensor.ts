import { hadamard, khatriRao } from '../linalg/khatri-rao.js';
import { gram, type Mat, matmul, matmulTB, zeros } from '../linalg/matrix.js';
import { fold, sizeOf, type Tensor64, tensorNorm, unfold } from '../linalg/tensor.js';

/** A CP (canonical polyadic) model: X ~ sum_r a_1[:, r] o a_2[:, r] o ... o a_N[:, r]. */
export interface CpModel {
  /** One I_n x R factor per mode; the weights of the rank-one terms live inside the factors. */
  factors: Mat[];
}

export function cpRank(cp: CpModel): number {
  return cp.factors[0].cols;
}

/** Dense tensor of a CP model. */
export function cpReconstruct(cp: CpModel): Tensor64 {
  const shape = cp.factors.map((f) => f.rows);
  const rest = khatriRao(cp.factors.slice(1));
  return fold(matmulTB(cp.factors[0], rest), 0, shape);
}

/** ||X - [[A_1..A_N]]||_F / ||X||_F, computed from the dense reconstruction. */
export function cpRelativeError(x: Tensor64, cp: CpModel): number {
  const r = cpReconstruct(cp);
  let s = 0;
  for (let i = 0; i < x.data.length; i++) s += (x.data[i] - r.data[i]) ** 2;
  return Math.sqrt(s) / tensorNorm(x);
}

/**
 * Norm of the CP weights: sqrt(sum_r prod_n ||a_n[:, r]||^2), i.e. ||lambda||_2 once every
 * factor column is normalised. Degenerate CP solutions have huge, cancelling terms and a
 * large value here.
 */
export function cpWeightNorm(cp: CpModel): number {
  const r = cpRank(cp);
  let total = 0;
  for (let c = 0; c < r; c++) {
    let p = 1;
    for (const f of cp.factors) {
      let s = 0;
      for (let i = 0; i < f.rows; i++) s += f.data[i * r + c] ** 2;
      p *= s;
    }
    total += p;
  }
  return Math.sqrt(total);
}

/** Matricised tensor times Khatri-Rao product for mode n: X_(n) KR(A_k, k != n). */
export function mttkrp(x: Tensor64, factors: Mat[], mode: number): Mat {
  return matmul(unfold(x, mode), khatriRao(factors.filter((_, k) => k !== mode)));
}

/** Hadamard product of the Gram matrices of every factor except `mode` (R x R). */
export function otherGrams(factors: Mat[], mode: number): Mat {
  return hadamard(factors.filter((_, k) => k !== mode).map((f) => gram(f)));
}

/**
 * Rescales the columns so that every factor's column r has the same norm
 * (|lambda_r|^(1/N)); the tensor is unchanged. Useful before quantising factors.
 */
export function balanceCp(cp: CpModel): CpModel {
  const r = cpRank(cp);
  const n = cp.factors.length;
  const factors = cp.factors.map((f) => ({ rows: f.rows, cols: f.cols, data: f.data.slice() }));
  for (let c = 0; c < r; c++) {
    const norms = factors.map((f) => {
      let s = 0;
      for (let i = 0; i < f.rows; i++) s += f.data[i * r + c] ** 2;
      return Math.sqrt(s);
    });
    const lambda = norms.reduce((a, b) => a * b, 1);
    const target = lambda ** (1 / n);
    factors.forEach((f, k) => {
      const scale = norms[k] > 0 ? target / norms[k] : 0;
      for (let i = 0; i < f.rows; i++) f.data[i * r + c] *= scale;
    });
  }
  return { factors };
}

/** Moves the column norms of every factor except `mode` into factor `mode` (tensor unchanged). */
export function normalizeOthers(cp: CpModel, mode: number): void {
  const r = cpRank(cp);
  const target = cp.factors[mode];
  cp.factors.forEach((f, k) => {
    if (k === mode) return;
    for (let c = 0; c < r; c++) {
      let s = 0;
      for (let i = 0; i < f.rows; i++) s += f.data[i * r + c] ** 2;
      const nrm = Math.sqrt(s);
      if (nrm === 0) continue;
      for (let i = 0; i < f.rows; i++) f.data[i * r + c] /= nrm;
      for (let i = 0; i < target.rows; i++) target.data[i * r + c] *= nrm;
    }
  });
}

/** Number of values a CP model stores. */
export function cpParameterCount(shape: number[], rank: number): number {
  return rank * shape.reduce((a, b) => a + b, 0);
}

export function checkTensorForCp(x: Tensor64, rank: number): void {
  if (x.shape.length < 2) throw new Error(`CP needs a tensor of order >= 2, got [${x.shape}]`);
  if (!Number.isInteger(rank) || rank < 1) {
    throw new Error(`CP rank must be a positive integer, got ${rank}`);
  }
  if (x.data.length !== sizeOf(x.shape))
    throw new Error('CP: tensor data does not match its shape');
  for (let i = 0; i < x.data.length; i++) {
    if (!Number.isFinite(x.data[i])) throw new Error(`CP: tensor has a non-finite value at ${i}`);
  }
}

export function zeroFactors(shape: number[], rank: number): Mat[] {
  return shape.map((s) => zeros(s, rank));
}
