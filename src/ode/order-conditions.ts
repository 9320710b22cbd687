import type { ButcherTableau } from './tableaus.js';

/**
 * Order conditions of Runge-Kutta methods (Butcher): a method has order p iff for every rooted
 * tree t with |t| <= p nodes, the elementary weight b . g(t) equals 1/gamma(t), where
 * g(leaf) = 1 (all ones), g([t1..tm]) = prod_k (A g(t_k)) elementwise, gamma(leaf) = 1 and
 * gamma([t1..tm]) = |t| prod_k gamma(t_k). There are 1, 1, 2, 4, 9 trees of orders 1..5.
 */
export interface RootedTree {
  /** Children of the root (a multiset of trees, kept in canonical order). */
  children: RootedTree[];
  size: number;
  /** Canonical bracket form, e.g. '[[],[]]' for the cherry. */
  key: string;
}

function makeTree(children: RootedTree[]): RootedTree {
  const sorted = [...children].sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
  return {
    children: sorted,
    size: 1 + sorted.reduce((s, c) => s + c.size, 0),
    key: `[${sorted.map((c) => c.key).join(',')}]`,
  };
}

/** All rooted trees with exactly n nodes (unlabelled, no duplicates). */
export function rootedTrees(n: number): RootedTree[] {
  if (!Number.isInteger(n) || n < 1) throw new Error(`rootedTrees: n must be >= 1, got ${n}`);
  const byKey = new Map<string, RootedTree>();
  if (n === 1) return [makeTree([])];
  // Attach one new leaf anywhere in each tree of n - 1 nodes; dedupe by canonical key.
  const grow = (t: RootedTree): RootedTree[] => {
    const out = [makeTree([...t.children, makeTree([])])];
    t.children.forEach((child, i) => {
      for (const g of grow(child)) {
        const rest = t.children.filter((_, j) => j !== i);
        out.push(makeTree([...rest, g]));
      }
    });
    return out;
  };
  for (const t of rootedTrees(n - 1)) for (const g of grow(t)) byKey.set(g.key, g);
  return [...byKey.values()];
}

export function gamma(t: RootedTree): number {
  return t.children.reduce((p, c) => p * gamma(c), t.size);
}

function stageVector(tab: ButcherTableau, t: RootedTree): number[] {
  const s = tab.c.length;
  let g = new Array<number>(s).fill(1);
  for (const child of t.children) {
    const gc = stageVector(tab, child);
    const agc = tab.a.map((row) => row.reduce((acc, aij, j) => acc + aij * gc[j], 0));
    g = g.map((x, i) => x * agc[i]);
  }
  return g;
}

/** Elementary weight b . g(t) of a tree for weights `b` (default: the solution weights). */
export function elementaryWeight(tab: ButcherTableau, t: RootedTree, b = tab.b): number {
  const g = stageVector(tab, t);
  return b.reduce((acc, bi, i) => acc + bi * g[i], 0);
}

/** Largest residual |b.g(t) - 1/gamma(t)| over trees of order <= p, and the row-sum defect. */
export function orderResidual(tab: ButcherTableau, p: number, b = tab.b): number {
  let worst = 0;
  for (let n = 1; n <= p; n++)
    for (const t of rootedTrees(n))
      worst = Math.max(worst, Math.abs(elementaryWeight(tab, t, b) - 1 / gamma(t)));
  return worst;
}

/** Row-sum defect max_i |c_i - sum_j a_ij| (the simplifying condition the trees above assume). */
export function rowSumDefect(tab: ButcherTableau): number {
  return Math.max(
    ...tab.c.map((ci, i) => Math.abs(ci - (tab.a[i] ?? []).reduce((s, x) => s + x, 0))),
  );
}

/**
 * Coefficients of the stability polynomial R(z) = 1 + sum_k z^k b^T A^{k-1} 1 of an explicit
 * method (the amplification factor on y' = lambda y with z = h lambda); degree <= stages.
 */
export function stabilityPolynomial(tab: ButcherTableau, b = tab.b): number[] {
  const s = tab.c.length;
  const coeffs = [1];
  let v = new Array<number>(s).fill(1);
  for (let k = 1; k <= s; k++) {
    coeffs.push(b.reduce((acc, bi, i) => acc + bi * v[i], 0));
    v = tab.a.map((row) => row.reduce((acc, aij, j) => acc + aij * v[j], 0));
  }
  return coeffs;
}
