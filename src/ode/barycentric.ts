/**
 * Barycentric Lagrange interpolation (Berrut and Trefethen 2004, "second" form):
 *   p(t) = sum_k (w_k / (t - x_k)) y_k / sum_k (w_k / (t - x_k)),
 * exact for polynomials of degree < n on n distinct nodes when w_k is proportional to
 * 1 / prod_{j != k} (x_k - x_j). The weights must match the node family: Chebyshev points of
 * the second kind (Lobatto, extrema, endpoints included) take w_k = (-1)^k delta_k with
 * delta = 1/2 at both ends; Chebyshev points of the first kind (roots, interior) take
 * w_k = (-1)^k sin((2k + 1) pi / (2n)). Pairing Lobatto nodes with first-kind weights (as one
 * public IRDM implementation does) is no longer exact: `test/ode/barycentric.test.ts` shows it.
 */
export type NodeFamily = 'lobatto' | 'gauss';

export interface InterpolationNodes {
  family: NodeFamily;
  /** Nodes in increasing order on [a, b]. */
  x: number[];
  /** Barycentric weights matching the nodes (any common scale). */
  w: number[];
}

function checkNodeCount(n: number, min: number): void {
  if (!Number.isInteger(n) || n < min)
    throw new Error(`interpolation nodes: need an integer count >= ${min}, got ${String(n)}`);
}

/** Chebyshev-Lobatto points (second kind) on [a, b] with their matching barycentric weights. */
export function chebyshevLobatto(n: number, a: number, b: number): InterpolationNodes {
  checkNodeCount(n, 2);
  const x: number[] = [];
  const w: number[] = [];
  for (let k = 0; k < n; k++) {
    // cos(k pi / (n - 1)) runs from 1 down to -1; negate for increasing order (weights keep
    // their alternating pattern: the reversal multiplies them all by (-1)^(n-1)).
    x.push((a + b) / 2 - ((b - a) / 2) * Math.cos((k * Math.PI) / (n - 1)));
    w.push((k % 2 === 0 ? 1 : -1) * (k === 0 || k === n - 1 ? 0.5 : 1));
  }
  x[0] = a;
  x[n - 1] = b;
  return { family: 'lobatto', x, w };
}

/** Chebyshev-Gauss points (first kind, interior) on [a, b] with their matching weights. */
export function chebyshevGauss(n: number, a: number, b: number): InterpolationNodes {
  checkNodeCount(n, 1);
  const x: number[] = [];
  const w: number[] = [];
  for (let k = 0; k < n; k++) {
    const theta = ((2 * k + 1) * Math.PI) / (2 * n);
    x.push((a + b) / 2 - ((b - a) / 2) * Math.cos(theta));
    w.push((k % 2 === 0 ? 1 : -1) * Math.sin(theta));
  }
  return { family: 'gauss', x, w };
}

/** The weights 1 / prod_{j != k}(x_k - x_j) of arbitrary distinct nodes (O(n^2)). */
export function genericWeights(x: number[]): number[] {
  return x.map((xk, k) => {
    let p = 1;
    for (let j = 0; j < x.length; j++) if (j !== k) p *= xk - x[j];
    return 1 / p;
  });
}

/**
 * The coefficients l_k(t) with p(t) = sum_k l_k(t) y_k (they sum to 1). At a node, the
 * coefficient vector is that node's unit vector.
 */
export function barycentricCoefficients(x: number[], w: number[], t: number): number[] {
  for (let k = 0; k < x.length; k++) {
    if (t === x[k]) return x.map((_, j) => (j === k ? 1 : 0));
  }
  const terms = x.map((xk, k) => w[k] / (t - xk));
  const denominator = terms.reduce((s, v) => s + v, 0);
  return terms.map((v) => v / denominator);
}

/** Interpolates scalar samples y_k at t. */
export function barycentricInterpolate(x: number[], w: number[], y: number[], t: number): number {
  const l = barycentricCoefficients(x, w, t);
  return l.reduce((s, lk, k) => s + lk * y[k], 0);
}
