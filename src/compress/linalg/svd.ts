import { makeRng, normal } from '../../engine/random.js';
import { assertFinite, type Mat, matmul, transpose, zeros } from './matrix.js';
import { qr } from './qr.js';
import { symmetricEigen, symmetricEigenvalues } from './symmetric-eigen.js';

export interface Svd {
  /** Left singular vectors, rows x k (orthonormal columns). */
  u: Mat;
  /** Singular values, descending, length k. */
  s: Float64Array;
  /** Right singular vectors, cols x k (orthonormal columns). */
  v: Mat;
}

export interface SvdOptions {
  /** Keep only the leading `rank` triplets (default: all min(rows, cols)). */
  rank?: number;
  /**
   * 'jacobi': QR then one-sided Jacobi (high relative accuracy, O(n^3) per sweep);
   * 'gram': eigen-decomposition of the smaller Gram matrix (fast for n in the thousands,
   * singular values accurate to about eps * sigma_max^2 / sigma). 'auto' (default) picks
   * jacobi up to 200 columns.
   */
  method?: 'auto' | 'jacobi' | 'gram';
}

/** Largest min(rows, cols) for which 'auto' uses the Jacobi path. */
export const JACOBI_MAX_COLS = 200;

/** Thin singular value decomposition A = U diag(s) V^T, truncated to `rank` if given. */
export function svd(a: Mat, options: SvdOptions = {}): Svd {
  assertFinite(a, 'svd input');
  const k = Math.min(a.rows, a.cols);
  const rank = options.rank ?? k;
  if (!Number.isInteger(rank) || rank < 0 || rank > k) {
    throw new Error(
      `svd: rank must be an integer in [0, ${k}] for a ${a.rows}x${a.cols} matrix, got ${rank}`,
    );
  }
  if (a.rows < a.cols) {
    const t = svd(transpose(a), options);
    return { u: t.v, s: t.s, v: t.u };
  }
  const method = options.method ?? 'auto';
  const useJacobi = method === 'jacobi' || (method === 'auto' && a.cols <= JACOBI_MAX_COLS);
  const full = useJacobi ? svdJacobi(a) : svdGram(a, rank);
  return truncate(full, rank);
}

function truncate(f: Svd, rank: number): Svd {
  if (f.s.length === rank) return f;
  const cut = (m: Mat) => {
    const c = zeros(m.rows, rank);
    for (let i = 0; i < m.rows; i++) {
      for (let j = 0; j < rank; j++) c.data[i * rank + j] = m.data[i * m.cols + j];
    }
    return c;
  };
  return { u: cut(f.u), s: f.s.slice(0, rank), v: cut(f.v) };
}

/** One-sided (Hestenes) Jacobi on R from A = QR, rows >= cols. */
function svdJacobi(a: Mat): Svd {
  const m = a.rows;
  const n = a.cols;
  const { q, r } = m > n ? qr(a) : { q: null, r: a };
  // Columns of R as contiguous rows of w; V^T as rows of vt.
  const w = transpose(r).data;
  const vt = new Float64Array(n * n);
  for (let i = 0; i < n; i++) vt[i * n + i] = 1;
  const norms = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += w[j * n + i] ** 2;
    norms[j] = s;
  }
  const eps = 2 ** -52;
  for (let sweep = 0; sweep < 60; sweep++) {
    let rotated = false;
    for (let p = 0; p < n - 1; p++) {
      for (let qq = p + 1; qq < n; qq++) {
        const op = p * n;
        const oq = qq * n;
        let gamma = 0;
        for (let i = 0; i < n; i++) gamma += w[op + i] * w[oq + i];
        const alpha = norms[p];
        const beta = norms[qq];
        if (Math.abs(gamma) <= eps * n * Math.sqrt(alpha * beta) || gamma === 0) continue;
        rotated = true;
        const zeta = (beta - alpha) / (2 * gamma);
        const t = (zeta >= 0 ? 1 : -1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = c * t;
        for (let i = 0; i < n; i++) {
          const x = w[op + i];
          const y = w[oq + i];
          w[op + i] = c * x - s * y;
          w[oq + i] = s * x + c * y;
          const vx = vt[op + i];
          const vy = vt[oq + i];
          vt[op + i] = c * vx - s * vy;
          vt[oq + i] = s * vx + c * vy;
        }
        norms[p] = alpha - t * gamma;
        norms[qq] = beta + t * gamma;
      }
    }
    // Refresh norms from the data to stop drift of the running updates.
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += w[j * n + i] ** 2;
      norms[j] = s;
    }
    if (!rotated) break;
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => norms[y] - norms[x]);
  const s = new Float64Array(n);
  const ur = zeros(n, n);
  const v = zeros(n, n);
  order.forEach((src, dst) => {
    const sigma = Math.sqrt(norms[src]);
    s[dst] = sigma;
    for (let i = 0; i < n; i++) {
      ur.data[i * n + dst] = sigma > 0 ? w[src * n + i] / sigma : 0;
      v.data[i * n + dst] = vt[src * n + i];
    }
  });
  const u = q ? matmul(q, ur) : ur;
  completeBasis(u, s);
  return { u, s, v };
}

/** Eigen-decomposition of A^T A, then U = A V / sigma for the leading `rank` columns. */
function svdGram(a: Mat, rank: number): Svd {
  const n = a.cols;
  const { values, vectors } = symmetricEigen(gramLower(a));
  const s = new Float64Array(n);
  for (let i = 0; i < n; i++) s[i] = Math.sqrt(Math.max(values[i], 0));
  const vk = zeros(n, rank);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < rank; j++) vk.data[i * rank + j] = vectors.data[i * n + j];
  }
  const u = matmul(a, vk);
  for (let j = 0; j < rank; j++) {
    const inv = s[j] > 0 ? 1 / s[j] : 0;
    for (let i = 0; i < a.rows; i++) u.data[i * rank + j] *= inv;
  }
  const sk = s.slice(0, rank);
  completeBasis(u, sk);
  return { u, s: sk, v: vk };
}

/**
 * Replaces the left vectors of (numerically) zero singular values by an orthonormal
 * completion, so that U always has orthonormal columns.
 */
function completeBasis(u: Mat, s: Float64Array): void {
  const m = u.rows;
  const k = u.cols;
  const tol = (s[0] ?? 0) * 1e-12 * Math.max(m, k);
  const rng = makeRng(12345);
  for (let j = 0; j < k; j++) {
    if (s[j] > tol && s[j] > 0) continue;
    for (let attempt = 0; attempt < 10; attempt++) {
      const x = new Float64Array(m);
      for (let i = 0; i < m; i++) x[i] = normal(rng);
      for (let pass = 0; pass < 2; pass++) {
        for (let c = 0; c < k; c++) {
          if (c === j || (c > j && !(s[c] > tol && s[c] > 0))) continue;
          let d = 0;
          for (let i = 0; i < m; i++) d += u.data[i * k + c] * x[i];
          for (let i = 0; i < m; i++) x[i] -= d * u.data[i * k + c];
        }
      }
      let nrm = 0;
      for (let i = 0; i < m; i++) nrm += x[i] * x[i];
      nrm = Math.sqrt(nrm);
      if (nrm > 1e-8) {
        for (let i = 0; i < m; i++) u.data[i * k + j] = x[i] / nrm;
        s[j] = Math.max(s[j], 0);
        break;
      }
    }
  }
}

/** All singular values of A, descending (Gram eigenvalues for wide problems, Jacobi for small). */
export function singularValues(a: Mat): Float64Array {
  const n = Math.min(a.rows, a.cols);
  if (n <= JACOBI_MAX_COLS) return svd(a, { method: 'jacobi' }).s;
  const values = symmetricEigenvalues(gramLower(a.rows < a.cols ? transpose(a) : a));
  return values.map((x) => Math.sqrt(Math.max(x, 0)));
}

/** Lower triangle of A^T A as dot products of contiguous columns (cache friendly). */
function gramLower(a: Mat): Mat {
  const n = a.cols;
  const m = a.rows;
  const t = transpose(a).data;
  const g = zeros(n, n);
  for (let i = 0; i < n; i++) {
    const oi = i * m;
    for (let j = 0; j <= i; j++) {
      const oj = j * m;
      let s0 = 0;
      let s1 = 0;
      let r = 0;
      for (; r + 1 < m; r += 2) {
        s0 += t[oi + r] * t[oj + r];
        s1 += t[oi + r + 1] * t[oj + r + 1];
      }
      if (r < m) s0 += t[oi + r] * t[oj + r];
      g.data[i * n + j] = s0 + s1;
    }
  }
  return g;
}
