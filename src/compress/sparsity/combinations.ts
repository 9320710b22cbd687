/**
 * The N-subsets of M positions, in lexicographic order. An N:M group's kept positions are stored
 * as the subset's rank: ceil(log2(C(M, N))) bits per group instead of N * log2(M).
 */
export interface CombinationTable {
  n: number;
  m: number;
  /** subsets[k] = ascending positions of the k-th subset. */
  subsets: number[][];
  /** Bit mask of positions -> rank. */
  rankOfMask: Map<number, number>;
  /** Bits needed for a rank. */
  bits: number;
}

const cache = new Map<string, CombinationTable>();

export function checkNM(n: number, m: number, where = 'N:M'): void {
  if (!Number.isInteger(m) || m < 2 || m > 16) {
    throw new Error(`${where}: M must be an integer from 2 to 16, got ${m}`);
  }
  if (!Number.isInteger(n) || n < 1 || n >= m) {
    throw new Error(`${where}: N must be an integer from 1 to M-1 (${m - 1}), got ${n}`);
  }
}

export function combinationTable(n: number, m: number): CombinationTable {
  checkNM(n, m);
  const key = `${n}:${m}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const subsets: number[][] = [];
  const walk = (start: number, chosen: number[]) => {
    if (chosen.length === n) {
      subsets.push([...chosen]);
      return;
    }
    for (let p = start; p <= m - (n - chosen.length); p++) {
      chosen.push(p);
      walk(p + 1, chosen);
      chosen.pop();
    }
  };
  walk(0, []);
  const rankOfMask = new Map<number, number>();
  subsets.forEach((s, k) => {
    rankOfMask.set(
      s.reduce((a, p) => a | (1 << p), 0),
      k,
    );
  });
  const table = {
    n,
    m,
    subsets,
    rankOfMask,
    bits: Math.max(1, Math.ceil(Math.log2(subsets.length))),
  };
  cache.set(key, table);
  return table;
}
