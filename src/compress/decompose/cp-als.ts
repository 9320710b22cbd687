import { makeRng, normal } from '../../engine/random.js';
import { cholesky, choleskySolve } from '../linalg/cholesky.js';
import { gram, type Mat, transpose, zeros } from '../linalg/matrix.js';
import { svd } from '../linalg/svd.js';
import { type Tensor64, tensorNorm, unfold } from '../linalg/tensor.js';
import {
  type CpModel,
  checkTensorForCp,
  cpRelativeError,
  mttkrp,
  otherGrams,
} from './cp-tensor.js';

export interface CpAlsOptions {
  /** Maximum ALS sweeps over all modes (default 100). */
  maxIters?: number;
  /** Stop when the relative error improves by less than this between sweeps (default 1e-7). */
  tol?: number;
  /** 'svd': leading singular vectors of each unfolding, random where R exceeds the mode size. */
  init?: 'svd' | 'random' | CpModel;
  seed?: number;
}

export interface CpAlsResult {
  cp: CpModel;
  relativeError: number;
  iterations: number;
}

/** Solves A G = F for A (G symmetric PSD, R x R) with a tiny ridge for numerical safety. */
export function solveGram(f: Mat, g: Mat, ridgeFraction = 1e-12): Mat {
  const r = g.rows;
  let trace = 0;
  for (let i = 0; i < r; i++) trace += g.data[i * r + i];
  const reg = { rows: r, cols: r, data: g.data.slice() };
  const ridge = Math.max((ridgeFraction * trace) / r, Number.MIN_VALUE);
  for (let i = 0; i < r; i++) reg.data[i * r + i] += ridge;
  return transpose(choleskySolve(cholesky(reg), transpose(f)));
}

export function initialCp(
  x: Tensor64,
  rank: number,
  init: 'svd' | 'random',
  seed: number,
): CpModel {
  const rng = makeRng(seed);
  const factors = x.shape.map((size, mode) => {
    const f = zeros(size, rank);
    for (let i = 0; i < f.data.length; i++) f.data[i] = normal(rng);
    if (init === 'svd') {
      const k = Math.min(rank, size);
      const u = svd(unfold(x, mode), { rank: k }).u;
      for (let i = 0; i < size; i++)
        for (let c = 0; c < k; c++) f.data[i * rank + c] = u.data[i * k + c];
    }
    return f;
  });
  return { factors };
}

/** CP decomposition by alternating least squares: A_n = X_(n) KR(others) (hadamard of Grams)^-1. */
export function cpAls(x: Tensor64, rank: number, options: CpAlsOptions = {}): CpAlsResult {
  checkTensorForCp(x, rank);
  const maxIters = options.maxIters ?? 100;
  const tol = options.tol ?? 1e-7;
  const init = options.init ?? 'svd';
  const cp =
    typeof init === 'object'
      ? { factors: init.factors.map((f) => ({ ...f, data: f.data.slice() })) }
      : initialCp(x, rank, init, options.seed ?? 0);
  if (
    cp.factors.length !== x.shape.length ||
    cp.factors.some((f, k) => f.rows !== x.shape[k] || f.cols !== rank)
  ) {
    throw new Error(`CP init does not match tensor [${x.shape}] at rank ${rank}`);
  }
  const norm = tensorNorm(x);
  if (norm === 0) return { cp, relativeError: 0, iterations: 0 };
  let previous = Number.POSITIVE_INFINITY;
  let iterations = 0;
  const last = x.shape.length - 1;
  for (let it = 0; it < maxIters; it++) {
    iterations = it + 1;
    let f: Mat | null = null;
    let g: Mat | null = null;
    for (let n = 0; n <= last; n++) {
      f = mttkrp(x, cp.factors, n);
      g = otherGrams(cp.factors, n);
      cp.factors[n] = solveGram(f, g);
    }
    // ||X - X_hat||^2 = ||X||^2 - 2 <F, A> + <G, A^T A> for the last mode's F, G and A.
    const err = fitError(norm, f!, g!, cp.factors[last]);
    if (Math.abs(previous - err) < tol) break;
    previous = err;
  }
  return { cp, relativeError: cpRelativeError(x, cp), iterations };
}

/** Relative CP error from the last mode's MTTKRP F, Gram product G and factor A (no reconstruction). */
function fitError(xNorm: number, f: Mat, g: Mat, a: Mat): number {
  let inner = 0;
  for (let i = 0; i < f.data.length; i++) inner += f.data[i] * a.data[i];
  const ata = gram(a);
  let model = 0;
  for (let i = 0; i < g.data.length; i++) model += g.data[i] * ata.data[i];
  return Math.sqrt(Math.max(xNorm * xNorm - 2 * inner + model, 0)) / xNorm;
}
