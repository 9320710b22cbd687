import { derivativeAt, type SmoothActivation } from './activation-fns.js';

/** Few-bit codes: 1..4 bits, 2^bits intervals of the pre-activation axis. */
export const FEWBIT_BITS = [1, 2, 3, 4] as const;
export type FewbitBits = (typeof FEWBIT_BITS)[number];

/**
 * A piecewise-constant approximation of f'(x): interval k = (borders[k-1], borders[k]] has the
 * level levels[k] (the first and last intervals extend to -inf and +inf).
 */
export interface FewbitTable {
  borders: Float64Array;
  levels: Float64Array;
  /** Weighted squared error of the approximation on the grid. */
  cost: number;
}

export interface GridOptions {
  /** Grid range and number of cells; the density outside is negligible for N(0,1). */
  lo?: number;
  hi?: number;
  cells?: number;
}

/** Per-cell integrals of w, f' w and f'^2 w (w: standard normal density), by 8-point midpoints. */
export function gridMoments(
  fprime: (x: number) => number,
  opts: GridOptions = {},
): { edges: Float64Array; w: Float64Array; a: Float64Array; b: Float64Array } {
  const lo = opts.lo ?? -8;
  const hi = opts.hi ?? 8;
  const n = opts.cells ?? 1024;
  const h = (hi - lo) / n;
  const edges = new Float64Array(n + 1);
  const w = new Float64Array(n);
  const a = new Float64Array(n);
  const b = new Float64Array(n);
  const sub = 8;
  for (let i = 0; i <= n; i++) edges[i] = lo + i * h;
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < sub; k++) {
      const x = edges[i] + ((k + 0.5) / sub) * h;
      const dens = (Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI)) * (h / sub);
      const f = fprime(x);
      w[i] += dens;
      a[i] += f * dens;
      b[i] += f * f * dens;
    }
  }
  return { edges, w, a, b };
}

/**
 * Optimal piecewise-constant approximation with `segments` pieces of a function given by its
 * per-cell moments: minimise sum over pieces of int f'^2 w - (int f' w)^2 / int w. Min-plus DP
 * over prefix sums, O(segments x cells^2), then backtrack.
 */
export function optimalSegments(
  moments: { edges: Float64Array; w: Float64Array; a: Float64Array; b: Float64Array },
  segments: number,
): FewbitTable {
  const { edges, w, a, b } = moments;
  const n = w.length;
  if (!Number.isInteger(segments) || segments < 1 || segments > n)
    throw new Error(`optimalSegments: segments must be an integer in 1..${n}, got ${segments}`);
  const W = new Float64Array(n + 1);
  const A = new Float64Array(n + 1);
  const B = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) {
    W[i + 1] = W[i] + w[i];
    A[i + 1] = A[i] + a[i];
    B[i + 1] = B[i] + b[i];
  }
  const cost = (i: number, j: number) => {
    const ww = W[j] - W[i];
    const aa = A[j] - A[i];
    return ww > 0 ? B[j] - B[i] - (aa * aa) / ww : 0;
  };
  // best[m][j]: least cost of covering cells 0..j-1 with m+1 pieces; arg[m][j]: start of last piece.
  const best: Float64Array[] = [];
  const arg: Int32Array[] = [];
  const first = new Float64Array(n + 1).fill(Number.POSITIVE_INFINITY);
  for (let j = 1; j <= n; j++) first[j] = cost(0, j);
  best.push(first);
  arg.push(new Int32Array(n + 1));
  for (let m = 1; m < segments; m++) {
    const prev = best[m - 1];
    const cur = new Float64Array(n + 1).fill(Number.POSITIVE_INFINITY);
    const from = new Int32Array(n + 1);
    for (let j = m + 1; j <= n; j++) {
      let v = Number.POSITIVE_INFINITY;
      let at = -1;
      for (let i = m; i < j; i++) {
        const c = prev[i] + cost(i, j);
        if (c < v) {
          v = c;
          at = i;
        }
      }
      cur[j] = v;
      from[j] = at;
    }
    best.push(cur);
    arg.push(from);
  }
  const starts: number[] = [];
  let j = n;
  for (let m = segments - 1; m >= 1; m--) {
    const i = arg[m][j];
    starts.unshift(i);
    j = i;
  }
  const cuts = [0, ...starts, n];
  const borders = new Float64Array(segments - 1);
  const levels = new Float64Array(segments);
  for (let k = 0; k < segments; k++) {
    const ww = W[cuts[k + 1]] - W[cuts[k]];
    levels[k] = ww > 0 ? (A[cuts[k + 1]] - A[cuts[k]]) / ww : 0;
    if (k > 0) borders[k - 1] = edges[cuts[k]];
  }
  return { borders, levels, cost: best[segments - 1][n] };
}

const cache = new Map<string, FewbitTable>();

/** The optimal table of `fn`'s derivative for `bits`-bit codes, computed once and cached. */
export function fewbitTable(fn: SmoothActivation, bits: FewbitBits): FewbitTable {
  const key = `${fn}/${bits}`;
  let t = cache.get(key);
  if (!t) {
    t = optimalSegments(
      gridMoments((x) => derivativeAt(fn, x)),
      2 ** bits,
    );
    cache.set(key, t);
  }
  return t;
}

/** Interval index of each value (number of borders strictly below it). */
export function intervalCodes(
  values: ArrayLike<number>,
  borders: Float64Array,
  out: Uint8Array = new Uint8Array(values.length),
): Uint8Array {
  const nb = borders.length;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    let lo = 0;
    let hi = nb;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (borders[mid] < v) lo = mid + 1;
      else hi = mid;
    }
    out[i] = lo;
  }
  return out;
}
