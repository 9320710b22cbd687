import { type Mat, zeros } from './matrix.js';

export interface QR {
  /** Orthonormal columns, rows x min(rows, cols). */
  q: Mat;
  /** Upper triangular, min(rows, cols) x cols. */
  r: Mat;
}

/**
 * Thin QR factorisation A = Q R by Householder reflections (numerically stable; Q is
 * orthonormal to machine precision even when A is rank deficient).
 */
export function qr(a: Mat): QR {
  const m = a.rows;
  const n = a.cols;
  const k = Math.min(m, n);
  // Work on the transpose so that each column of A is a contiguous row.
  const w = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) w[j * m + i] = a.data[i * n + j];
  const vs: Float64Array[] = [];
  const r = zeros(k, n);
  for (let j = 0; j < k; j++) {
    const cj = j * m;
    let norm = 0;
    for (let i = j; i < m; i++) norm += w[cj + i] * w[cj + i];
    norm = Math.sqrt(norm);
    const v = new Float64Array(m - j);
    const alpha = w[cj + j] >= 0 ? -norm : norm;
    for (let i = j; i < m; i++) v[i - j] = w[cj + i];
    v[0] -= alpha;
    let vnorm = 0;
    for (let i = 0; i < v.length; i++) vnorm += v[i] * v[i];
    if (vnorm > 0) {
      const inv = 1 / Math.sqrt(vnorm);
      for (let i = 0; i < v.length; i++) v[i] *= inv;
      // Apply H = I - 2 v v^T to columns j..n-1.
      for (let c = j; c < n; c++) {
        const cc = c * m;
        let d = 0;
        for (let i = j; i < m; i++) d += v[i - j] * w[cc + i];
        d *= 2;
        for (let i = j; i < m; i++) w[cc + i] -= d * v[i - j];
      }
    }
    vs.push(v);
    for (let c = j; c < n; c++) r.data[j * n + c] = w[c * m + j];
  }
  // Q = H_0 H_1 ... H_{k-1} applied to the first k columns of I, built column-contiguous.
  const qt = new Float64Array(k * m);
  for (let c = 0; c < k; c++) qt[c * m + c] = 1;
  for (let j = k - 1; j >= 0; j--) {
    const v = vs[j];
    for (let c = 0; c < k; c++) {
      const cc = c * m;
      let d = 0;
      for (let i = j; i < m; i++) d += v[i - j] * qt[cc + i];
      if (d === 0) continue;
      d *= 2;
      for (let i = j; i < m; i++) qt[cc + i] -= d * v[i - j];
    }
  }
  const q = zeros(m, k);
  for (let i = 0; i < m; i++) for (let c = 0; c < k; c++) q.data[i * k + c] = qt[c * m + i];
  return { q, r };
}
