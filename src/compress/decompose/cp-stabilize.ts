import { type Mat, matmul, matmulTB, zeros } from '../linalg/matrix.js';
import { symmetricEigen } from '../linalg/symmetric-eigen.js';
import { type Tensor64, tensorNorm } from '../linalg/tensor.js';
import { type CpAlsOptions, cpAls } from './cp-als.js';
import {
  type CpModel,
  cpRelativeError,
  cpWeightNorm,
  mttkrp,
  normalizeOthers,
  otherGrams,
} from './cp-tensor.js';

export interface EpcOptions {
  /** Error bound, relative to ||X||; default: the error of the given CP model. */
  relativeError?: number;
  /** Maximum sweeps over all modes (default 100). */
  sweeps?: number;
  /** Stop when a sweep lowers the weight norm by less than this fraction (default 1e-4). */
  normTol?: number;
}

/**
 * Error-preserving correction (stabilised CP, after Phan et al. 2020): with the other factors
 * fixed and column-normalised, each factor is replaced by the solution of
 *   min ||A_n||_F^2  subject to  ||X_(n) - A_n Z^T||_F <= delta,
 * i.e. the smallest CP weights that keep the fit. Solved in closed form up to one scalar:
 * A_n(mu) = X_(n) Z (Z^T Z + mu I)^-1 with the largest mu whose error is still <= delta
 * (the error is monotone in mu; found by bisection on log mu in the eigenbasis of Z^T Z).
 * The weight norm never increases and the error never exceeds delta.
 */
export function errorPreservingCorrection(
  x: Tensor64,
  cp0: CpModel,
  options: EpcOptions = {},
): CpModel {
  const cp: CpModel = { factors: cp0.factors.map((f) => ({ ...f, data: f.data.slice() })) };
  const xNorm2 = tensorNorm(x) ** 2;
  const delta = options.relativeError ?? cpRelativeError(x, cp);
  const budget = delta * delta * xNorm2;
  const sweeps = options.sweeps ?? 100;
  const normTol = options.normTol ?? 1e-4;
  let lastNorm = cpWeightNorm(cp);
  for (let sweep = 0; sweep < sweeps; sweep++) {
    for (let n = 0; n < x.shape.length; n++) {
      normalizeOthers(cp, n);
      const g = otherGrams(cp.factors, n);
      const f = mttkrp(x, cp.factors, n);
      const next = minNormUpdate(f, g, xNorm2, budget);
      if (next) cp.factors[n] = next;
    }
    const norm = cpWeightNorm(cp);
    if (lastNorm - norm < normTol * lastNorm) break;
    lastNorm = norm;
  }
  return cp;
}

/** argmin ||A||_F s.t. ||X||^2 - 2 tr(A^T F) + tr(A G A^T) <= budget; null if infeasible. */
function minNormUpdate(f: Mat, g: Mat, xNorm2: number, budget: number): Mat | null {
  const r = g.rows;
  const { values, vectors } = symmetricEigen(g);
  const p = matmul(f, vectors);
  const c = new Float64Array(r);
  for (let i = 0; i < p.rows; i++) for (let k = 0; k < r; k++) c[k] += p.data[i * r + k] ** 2;
  const gmax = Math.max(values[0], 1e-300);
  const gv = values.map((v) => Math.max(v, gmax * 1e-14));
  const err = (mu: number) => {
    let s = 0;
    for (let k = 0; k < r; k++) s += (c[k] * (gv[k] + 2 * mu)) / (gv[k] + mu) ** 2;
    return xNorm2 - s;
  };
  if (err(0) > budget) return null;
  let lo = Math.log(gmax * 1e-16);
  let hi = Math.log(gmax * 1e8);
  if (err(Math.exp(hi)) <= budget) lo = hi;
  for (let i = 0; i < 80 && hi - lo > 1e-12; i++) {
    const mid = (lo + hi) / 2;
    if (err(Math.exp(mid)) <= budget) lo = mid;
    else hi = mid;
  }
  const mu = err(Math.exp(lo)) <= budget ? Math.exp(lo) : 0;
  const scaled = zeros(p.rows, r);
  for (let i = 0; i < p.rows; i++) {
    for (let k = 0; k < r; k++) scaled.data[i * r + k] = p.data[i * r + k] / (gv[k] + mu);
  }
  return matmulTB(scaled, vectors);
}

export interface StabilizedCpOptions extends CpAlsOptions, EpcOptions {
  /** ALS-then-correction rounds (default 1); each round continues ALS from the corrected CP. */
  rounds?: number;
}

export interface StabilizedCpResult {
  cp: CpModel;
  relativeError: number;
  weightNorm: number;
}

/**
 * Stabilised CP: ALS, then the error-preserving correction at the error ALS reached; with
 * more rounds ALS continues from the low-norm point (which avoids the degenerate path).
 */
export function stabilizedCp(
  x: Tensor64,
  rank: number,
  options: StabilizedCpOptions = {},
): StabilizedCpResult {
  const rounds = options.rounds ?? 1;
  let cp: CpModel | undefined;
  for (let round = 0; round < rounds; round++) {
    const als = cpAls(x, rank, { ...options, init: cp ?? options.init });
    cp = errorPreservingCorrection(x, als.cp, {
      sweeps: options.sweeps,
      relativeError: options.relativeError,
    });
  }
  const out = cp!;
  return { cp: out, relativeError: cpRelativeError(x, out), weightNorm: cpWeightNorm(out) };
}
