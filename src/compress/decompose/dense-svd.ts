import { type Mat, matmul } from '../linalg/matrix.js';
import { svd } from '../linalg/svd.js';

/** W [in, out] ~ A B with A [in, r], B [r, out]; sigma split as sqrt on both sides. */
export interface SvdFactors {
  a: Mat;
  b: Mat;
  /** Singular values kept. */
  singularValues: Float64Array;
  /** ||W - A B||_F / ||W||_F. */
  relativeError: number;
}

/** Truncated SVD of a Dense kernel: optimal in Frobenius norm (Eckart-Young). */
export function svdFactors(w: Mat, rank: number): SvdFactors {
  const d = svd(w, { rank });
  const a = { rows: w.rows, cols: rank, data: new Float64Array(w.rows * rank) };
  const b = { rows: rank, cols: w.cols, data: new Float64Array(rank * w.cols) };
  for (let j = 0; j < rank; j++) {
    const root = Math.sqrt(d.s[j]);
    for (let i = 0; i < w.rows; i++) a.data[i * rank + j] = d.u.data[i * rank + j] * root;
    for (let i = 0; i < w.cols; i++) b.data[j * w.cols + i] = d.v.data[i * rank + j] * root;
  }
  const approx = matmul(a, b);
  let err = 0;
  let norm = 0;
  for (let i = 0; i < w.data.length; i++) {
    err += (w.data[i] - approx.data[i]) ** 2;
    norm += w.data[i] ** 2;
  }
  return { a, b, singularValues: d.s, relativeError: norm > 0 ? Math.sqrt(err / norm) : 0 };
}
