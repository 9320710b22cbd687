import { makeRng, normal } from '../../engine/random.js';
import { cholesky, choleskySolve } from '../linalg/cholesky.js';
import { type Mat, transpose, zeros } from '../linalg/matrix.js';
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
  /** Maximum ALS sweeps over all modes (default 200). */
  maxIters?: number;
  /** Stop when the relative error improves by less than this between sweeps (default 1e-9). */
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
  const maxIters = options.maxIters ?? 200;
  const tol = options.tol ?? 1e-9;
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
  let err = cpRelativeError(x, cp);
  for (let it = 0; it < maxIters; it++) {
    iterations = it + 1;
    for (let n = 0; n < x.shape.length; n++) {
      cp.factors[n] = solveGram(mttkrp(x, cp.factors, n), otherGrams(cp.factors, n));
    }
    err = cpRelativeError(x, cp);
    if (Math.abs(previous - err) < tol) break;
    previous = err;
  }
  return { cp, relativeError: err, iterations };
}
