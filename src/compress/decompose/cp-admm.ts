import { cholesky, choleskySolve } from '../linalg/cholesky.js';
import { type Mat, transpose } from '../linalg/matrix.js';
import type { Tensor64 } from '../linalg/tensor.js';
import { type StabilizedCpOptions, stabilizedCp } from './cp-stabilize.js';
import {
  balanceCp,
  type CpModel,
  checkTensorForCp,
  cpRelativeError,
  mttkrp,
  otherGrams,
} from './cp-tensor.js';
import { checkBits, fitGrid, type QuantGrid, quantCode } from './quant-grid.js';

export interface QuantizedCp {
  /** Factors whose every value is grid.scale * code (exactly, in float64). */
  cp: CpModel;
  /** Integer codes per factor (row-major like the factor), in [-qmax, qmax]. */
  codes: Int8Array[];
  /** One grid (scale) per factor. */
  grids: QuantGrid[];
  relativeError: number;
}

export interface CpAdmmOptions {
  bits: number;
  /** Outer sweeps over the modes (default 30). */
  outerIters?: number;
  /** ADMM iterations per factor update (default 50). */
  innerIters?: number;
  /** Stop the inner loop when primal and dual residuals (relative) fall below this (default 1e-4). */
  tol?: number;
  /** Start point; default a stabilised CP of the given rank. */
  init?: CpModel;
  /** Options of the stabilised CP used as start point. */
  cpOptions?: StabilizedCpOptions;
}

/** Projects a balanced CP onto per-factor MSE-optimal grids (the quantise-after-CP baseline). */
export function quantizeCp(x: Tensor64, cp: CpModel, bits: number): QuantizedCp {
  checkBits(bits);
  const balanced = balanceCp(cp);
  const grids = balanced.factors.map((f) => fitGrid(f.data, bits));
  return onGrid(x, balanced.factors, grids);
}

function onGrid(x: Tensor64, factors: Mat[], grids: QuantGrid[]): QuantizedCp {
  const codes = factors.map((f, k) => Int8Array.from(f.data, (v) => quantCode(v, grids[k])));
  const q = factors.map((f, k) => ({
    rows: f.rows,
    cols: f.cols,
    data: Float64Array.from(codes[k], (c) => c * grids[k].scale),
  }));
  const cp = { factors: q };
  return { cp, codes, grids, relativeError: cpRelativeError(x, cp) };
}

/**
 * CP with every factor on a `bits`-bit grid, by ALS whose factor updates are solved with ADMM
 * (the quantised-CP scheme of the design notes). For mode n with G = hadamard of the other
 * Grams and F = MTTKRP: rho = trace(G)/R; L = chol(G + rho I) once; iterate
 *   H~ = solve(L L^T, (F + rho (H + U))^T);  H = quantize(H~^T - U);  U += H - H~^T
 * until the primal (||H - H~^T||) and dual (rho ||H - H_prev||) residuals are small.
 * Starts from a stabilised CP (balanced, quantised); returns the best on-grid model seen,
 * so it is never worse than quantise-after-CP from the same start.
 */
export function cpAdmmQuantized(x: Tensor64, rank: number, options: CpAdmmOptions): QuantizedCp {
  checkTensorForCp(x, rank);
  checkBits(options.bits);
  const start = options.init ?? stabilizedCp(x, rank, options.cpOptions).cp;
  const balanced = balanceCp(start);
  const grids = balanced.factors.map((f) => fitGrid(f.data, options.bits));
  let best = onGrid(x, balanced.factors, grids);
  const h = best.cp.factors.map((f) => ({ ...f, data: f.data.slice() }));
  const u = h.map((f) => ({ ...f, data: new Float64Array(f.data.length) }));
  const outer = options.outerIters ?? 30;
  const inner = options.innerIters ?? 50;
  const tol = options.tol ?? 1e-4;
  for (let it = 0; it < outer; it++) {
    for (let n = 0; n < x.shape.length; n++) {
      admmFactorUpdate(mttkrp(x, h, n), otherGrams(h, n), h[n], u[n], grids[n], inner, tol);
    }
    const current = onGrid(x, h, grids);
    if (current.relativeError < best.relativeError) best = current;
  }
  return best;
}

function admmFactorUpdate(
  f: Mat,
  g: Mat,
  h: Mat,
  u: Mat,
  grid: QuantGrid,
  iters: number,
  tol: number,
): void {
  const r = g.rows;
  let trace = 0;
  for (let i = 0; i < r; i++) trace += g.data[i * r + i];
  const rho = Math.max(trace / r, 1e-12);
  const reg = { rows: r, cols: r, data: g.data.slice() };
  for (let i = 0; i < r; i++) reg.data[i * r + i] += rho;
  const l = cholesky(reg);
  const rhs = { rows: f.rows, cols: r, data: new Float64Array(f.data.length) };
  for (let k = 0; k < iters; k++) {
    for (let i = 0; i < rhs.data.length; i++)
      rhs.data[i] = f.data[i] + rho * (h.data[i] + u.data[i]);
    const ht = transpose(choleskySolve(l, transpose(rhs)));
    let primal = 0;
    let dual = 0;
    let hNorm = 0;
    let uNorm = 0;
    for (let i = 0; i < h.data.length; i++) {
      const prev = h.data[i];
      const next = quantCode(ht.data[i] - u.data[i], grid) * grid.scale;
      h.data[i] = next;
      u.data[i] += next - ht.data[i];
      primal += (next - ht.data[i]) ** 2;
      dual += (next - prev) ** 2;
      hNorm += next * next;
      uNorm += u.data[i] ** 2;
    }
    const pr = Math.sqrt(primal / Math.max(hNorm, 1e-300));
    const du = (rho * Math.sqrt(dual)) / Math.max(rho * Math.sqrt(uNorm), 1e-300);
    if (pr < tol && du < tol) break;
  }
}
