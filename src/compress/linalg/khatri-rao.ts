import { type Mat, zeros } from './matrix.js';

/**
 * Column-wise Kronecker product of matrices with the same column count R: row index runs over
 * (i_1, ..., i_k) with the LAST matrix fastest, so
 * khatriRao([A, B])[i * B.rows + j, r] = A[i, r] * B[j, r].
 */
export function khatriRao(mats: Mat[]): Mat {
  if (mats.length === 0) throw new Error('khatriRao needs at least one matrix');
  const r = mats[0].cols;
  for (const m of mats) {
    if (m.cols !== r) throw new Error(`khatriRao: column counts differ (${r} vs ${m.cols})`);
  }
  let acc: Mat = { rows: mats[0].rows, cols: r, data: mats[0].data.slice() };
  for (let k = 1; k < mats.length; k++) {
    const b = mats[k];
    const out = zeros(acc.rows * b.rows, r);
    for (let i = 0; i < acc.rows; i++) {
      for (let j = 0; j < b.rows; j++) {
        const o = (i * b.rows + j) * r;
        for (let c = 0; c < r; c++) out.data[o + c] = acc.data[i * r + c] * b.data[j * r + c];
      }
    }
    acc = out;
  }
  return acc;
}

/** Element-wise product of equally shaped matrices. */
export function hadamard(mats: Mat[]): Mat {
  if (mats.length === 0) throw new Error('hadamard needs at least one matrix');
  const out = { rows: mats[0].rows, cols: mats[0].cols, data: mats[0].data.slice() };
  for (let k = 1; k < mats.length; k++) {
    const m = mats[k];
    if (m.rows !== out.rows || m.cols !== out.cols) {
      throw new Error(`hadamard: shapes differ (${out.rows}x${out.cols} vs ${m.rows}x${m.cols})`);
    }
    for (let i = 0; i < out.data.length; i++) out.data[i] *= m.data[i];
  }
  return out;
}
