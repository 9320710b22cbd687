import {
  type Mat,
  matmul,
  scaleColumns,
  transpose,
  zeros,
} from '../../../src/compress/linalg/matrix.js';
import { qr } from '../../../src/compress/linalg/qr.js';
import { makeRng, normal } from '../../../src/engine/random.js';

/** Gaussian matrix with a fixed seed. */
export function randomMatrix(rows: number, cols: number, seed: number): Mat {
  const rng = makeRng(seed);
  const m = zeros(rows, cols);
  for (let i = 0; i < m.data.length; i++) m.data[i] = normal(rng);
  return m;
}

/** U diag(s) V^T with random orthonormal U, V: a matrix with known singular values. */
export function matrixWithSpectrum(rows: number, cols: number, s: number[], seed: number): Mat {
  const u = qr(randomMatrix(rows, s.length, seed)).q;
  const v = qr(randomMatrix(cols, s.length, seed + 1)).q;
  return matmul(scaleColumns(u, s), transpose(v));
}

/** max |Q^T Q - I|. */
export function orthogonalityError(q: Mat): number {
  let worst = 0;
  for (let i = 0; i < q.cols; i++) {
    for (let j = 0; j < q.cols; j++) {
      let d = 0;
      for (let r = 0; r < q.rows; r++) d += q.data[r * q.cols + i] * q.data[r * q.cols + j];
      worst = Math.max(worst, Math.abs(d - (i === j ? 1 : 0)));
    }
  }
  return worst;
}

export function maxAbs(a: Mat, b: Mat): number {
  let m = 0;
  for (let i = 0; i < a.data.length; i++) m = Math.max(m, Math.abs(a.data[i] - b.data[i]));
  return m;
}
