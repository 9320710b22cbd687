import { type Mat, zeros } from './matrix.js';

/**
 * Cholesky factor L (lower triangular) with A = L L^T for a symmetric positive definite A.
 * Throws, naming the pivot, when A is not positive definite.
 */
export function cholesky(a: Mat): Mat {
  const n = a.rows;
  if (a.cols !== n) throw new Error(`cholesky needs a square matrix, got ${a.rows}x${a.cols}`);
  const l = zeros(n, n);
  const L = l.data;
  for (let j = 0; j < n; j++) {
    let d = a.data[j * n + j];
    for (let k = 0; k < j; k++) d -= L[j * n + k] * L[j * n + k];
    if (!(d > 0)) {
      throw new Error(`cholesky: matrix is not positive definite (pivot ${j} is ${d})`);
    }
    const ljj = Math.sqrt(d);
    L[j * n + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      let s = a.data[i * n + j];
      for (let k = 0; k < j; k++) s -= L[i * n + k] * L[j * n + k];
      L[i * n + j] = s / ljj;
    }
  }
  return l;
}

/**
 * Solves (L L^T) X = B for X given the Cholesky factor L; B is n x k (each column one
 * right-hand side). Returns a new matrix.
 */
export function choleskySolve(l: Mat, b: Mat): Mat {
  const n = l.rows;
  if (b.rows !== n) throw new Error(`choleskySolve: factor is ${n}x${n} but B has ${b.rows} rows`);
  const k = b.cols;
  const x = zeros(n, k);
  const L = l.data;
  const X = x.data;
  X.set(b.data);
  // Forward: L Y = B.
  for (let i = 0; i < n; i++) {
    for (let p = 0; p < i; p++) {
      const lip = L[i * n + p];
      if (lip === 0) continue;
      for (let c = 0; c < k; c++) X[i * k + c] -= lip * X[p * k + c];
    }
    const inv = 1 / L[i * n + i];
    for (let c = 0; c < k; c++) X[i * k + c] *= inv;
  }
  // Backward: L^T X = Y.
  for (let i = n - 1; i >= 0; i--) {
    for (let p = i + 1; p < n; p++) {
      const lpi = L[p * n + i];
      if (lpi === 0) continue;
      for (let c = 0; c < k; c++) X[i * k + c] -= lpi * X[p * k + c];
    }
    const inv = 1 / L[i * n + i];
    for (let c = 0; c < k; c++) X[i * k + c] *= inv;
  }
  return x;
}
