import type { Mat } from './matrix.js';
import { matmulTA, zeros } from './matrix.js';
import { qr } from './qr.js';

/**
 * Minimises ||A X - B||_F for a full-column-rank A (rows >= cols) by Householder QR:
 * X = R^{-1} Q^T B. Throws when A is (numerically) rank deficient.
 */
export function leastSquares(a: Mat, b: Mat): Mat {
  if (a.rows !== b.rows) {
    throw new Error(`leastSquares: A has ${a.rows} rows but B has ${b.rows}`);
  }
  if (a.rows < a.cols) {
    throw new Error(`leastSquares needs rows >= cols, got ${a.rows}x${a.cols}`);
  }
  const { q, r } = qr(a);
  const n = a.cols;
  const k = b.cols;
  const y = matmulTA(q, b);
  let maxDiag = 0;
  for (let i = 0; i < n; i++) maxDiag = Math.max(maxDiag, Math.abs(r.data[i * n + i]));
  const x = zeros(n, k);
  for (let i = n - 1; i >= 0; i--) {
    const d = r.data[i * n + i];
    if (Math.abs(d) <= 1e-13 * maxDiag * n || maxDiag === 0) {
      throw new Error(`leastSquares: A is rank deficient (column ${i} is dependent)`);
    }
    for (let c = 0; c < k; c++) {
      let s = y.data[i * k + c];
      for (let p = i + 1; p < n; p++) s -= r.data[i * n + p] * x.data[p * k + c];
      x.data[i * k + c] = s / d;
    }
  }
  return x;
}
