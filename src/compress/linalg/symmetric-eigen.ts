import { type Mat, zeros } from './matrix.js';

export interface SymmetricEigen {
  /** Eigenvalues, descending. */
  values: Float64Array;
  /** Eigenvectors as columns (n x n), in the order of `values`. */
  vectors: Mat;
}

/**
 * Eigen-decomposition of a symmetric matrix: Householder tridiagonalisation followed by the
 * implicit QL algorithm (the EISPACK tred2/tql2 pair, as in JAMA). O(n^3), accurate to
 * eps * ||A|| in each eigenvalue. Only the lower triangle of `a` is read.
 */
export function symmetricEigen(a: Mat): SymmetricEigen {
  const n = a.rows;
  const V = mirroredLowerTriangle(a, 'symmetricEigen');
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  if (n === 0) return { values: d, vectors: zeros(0, 0) };
  // tridiagonalize works on the transpose (column access made contiguous), so on exit V holds
  // the eigenvector basis as rows, which is also what the QL rotations want.
  tridiagonalize(V, d, e, n);
  const W = V;
  tridiagonalQl(W, d, e, n);
  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => d[y] - d[x]);
  const values = new Float64Array(n);
  const vectors = zeros(n, n);
  order.forEach((src, dst) => {
    values[dst] = d[src];
    for (let k = 0; k < n; k++) vectors.data[k * n + dst] = W[src * n + k];
  });
  return { values, vectors };
}

/** Eigenvalues only (descending): the same reduction and QL iteration without the vectors, ~2x faster. */
export function symmetricEigenvalues(a: Mat): Float64Array {
  const n = a.rows;
  const V = mirroredLowerTriangle(a, 'symmetricEigenvalues');
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  if (n === 0) return d;
  tridiagonalize(V, d, e, n, false);
  tridiagonalQl(null, d, e, n);
  return d.sort().reverse();
}

/** A copy of square `a` (n x n, row-major) with its lower triangle mirrored above the diagonal. */
function mirroredLowerTriangle(a: Mat, caller: string): Float64Array {
  const n = a.rows;
  if (a.cols !== n) throw new Error(`${caller} needs a square matrix, got ${a.rows}x${a.cols}`);
  const V = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      V[i * n + j] = a.data[i * n + j];
      V[j * n + i] = a.data[i * n + j];
    }
  }
  return V;
}

/**
 * Householder reduction to tridiagonal form (tred2 with every V[a][b] read as V[b][a], so the
 * inner loops run along rows); on exit V holds the transposed accumulated transform.
 */
function tridiagonalize(
  V: Float64Array,
  d: Float64Array,
  e: Float64Array,
  n: number,
  accumulate = true,
): void {
  for (let j = 0; j < n; j++) d[j] = V[j * n + (n - 1)];
  for (let i = n - 1; i > 0; i--) {
    let scale = 0;
    let h = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(d[k]);
    if (scale === 0) {
      e[i] = d[i - 1];
      for (let j = 0; j < i; j++) {
        d[j] = V[j * n + (i - 1)];
        V[j * n + i] = 0;
        V[i * n + j] = 0;
      }
    } else {
      for (let k = 0; k < i; k++) {
        d[k] /= scale;
        h += d[k] * d[k];
      }
      let f = d[i - 1];
      let g = Math.sqrt(h);
      if (f > 0) g = -g;
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      for (let j = 0; j < i; j++) e[j] = 0;
      for (let j = 0; j < i; j++) {
        f = d[j];
        V[i * n + j] = f;
        g = e[j] + V[j * n + j] * f;
        for (let k = j + 1; k <= i - 1; k++) {
          g += V[j * n + k] * d[k];
          e[k] += V[j * n + k] * f;
        }
        e[j] = g;
      }
      f = 0;
      for (let j = 0; j < i; j++) {
        e[j] /= h;
        f += e[j] * d[j];
      }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) e[j] -= hh * d[j];
      for (let j = 0; j < i; j++) {
        f = d[j];
        g = e[j];
        for (let k = j; k <= i - 1; k++) V[j * n + k] -= f * e[k] + g * d[k];
        d[j] = V[j * n + (i - 1)];
        V[j * n + i] = 0;
      }
    }
    d[i] = h;
  }
  if (!accumulate) {
    // The tridiagonal's diagonal is left on V's diagonal.
    for (let j = 0; j < n; j++) d[j] = V[j * n + j];
    e[0] = 0;
    return;
  }
  for (let i = 0; i < n - 1; i++) {
    V[i * n + (n - 1)] = V[i * n + i];
    V[i * n + i] = 1;
    const h = d[i + 1];
    if (h !== 0) {
      for (let k = 0; k <= i; k++) d[k] = V[(i + 1) * n + k] / h;
      for (let j = 0; j <= i; j++) {
        let g = 0;
        for (let k = 0; k <= i; k++) g += V[(i + 1) * n + k] * V[j * n + k];
        for (let k = 0; k <= i; k++) V[j * n + k] -= g * d[k];
      }
    }
    for (let k = 0; k <= i; k++) V[(i + 1) * n + k] = 0;
  }
  for (let j = 0; j < n; j++) {
    d[j] = V[j * n + (n - 1)];
    V[j * n + (n - 1)] = 0;
  }
  V[(n - 1) * n + (n - 1)] = 1;
  e[0] = 0;
}

/** Implicit QL on the tridiagonal (d, e); W holds eigenvectors as rows and is rotated in place. */
function tridiagonalQl(W: Float64Array | null, d: Float64Array, e: Float64Array, n: number): void {
  for (let i = 1; i < n; i++) e[i - 1] = e[i];
  e[n - 1] = 0;
  let f = 0;
  let tst1 = 0;
  const eps = 2 ** -52;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]) + Math.abs(e[l]));
    let m = l;
    while (m < n) {
      if (Math.abs(e[m]) <= eps * tst1) break;
      m++;
    }
    if (m > l) {
      let iter = 0;
      do {
        if (++iter > 300) throw new Error('symmetricEigen: QL iteration did not converge');
        let g = d[l];
        let p = (d[l + 1] - g) / (2 * e[l]);
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l] / (p + r);
        d[l + 1] = e[l] * (p + r);
        const dl1 = d[l + 1];
        let h = g - d[l];
        for (let i = l + 2; i < n; i++) d[i] -= h;
        f += h;
        p = d[m];
        let c = 1;
        let c2 = c;
        let c3 = c;
        const el1 = e[l + 1];
        let s = 0;
        let s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i];
          h = c * p;
          r = Math.hypot(p, e[i]);
          e[i + 1] = s * r;
          s = e[i] / r;
          c = p / r;
          p = c * d[i] - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]);
          if (!W) continue;
          const ri = i * n;
          const rj = (i + 1) * n;
          for (let k = 0; k < n; k++) {
            const hk = W[rj + k];
            W[rj + k] = s * W[ri + k] + c * hk;
            W[ri + k] = c * W[ri + k] - s * hk;
          }
        }
        p = (-s * s2 * c3 * el1 * e[l]) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]) > eps * tst1);
    }
    d[l] += f;
    e[l] = 0;
  }
}
