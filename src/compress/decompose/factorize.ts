/**
 * Splits n into `parts` integer factors (each >= 1) that are as equal as possible, largest
 * first, e.g. 784 -> [14, 8, 7] for 3 parts. Exhaustive over divisors (n is a layer width).
 */
export function balancedFactors(n: number, parts: number): number[] {
  if (!Number.isInteger(n) || n < 1) throw new Error(`cannot factor ${n}: need a positive integer`);
  if (!Number.isInteger(parts) || parts < 1)
    throw new Error(`factor count must be a positive integer, got ${parts}`);
  let best: number[] | null = null;
  let bestScore = Number.POSITIVE_INFINITY;
  const search = (rest: number, left: number, maxF: number, acc: number[]) => {
    if (left === 1) {
      if (rest > maxF) return;
      const f = [...acc, rest];
      // Balanced = smallest spread in log space.
      const logs = f.map(Math.log);
      const mean = logs.reduce((a, b) => a + b, 0) / logs.length;
      const score = logs.reduce((s, l) => s + (l - mean) ** 2, 0);
      if (score < bestScore) {
        bestScore = score;
        best = f;
      }
      return;
    }
    for (let d = Math.min(maxF, rest); d >= 1; d--) {
      if (rest % d === 0) search(rest / d, left - 1, d, [...acc, d]);
    }
  };
  search(n, parts, n, []);
  return best ?? [n, ...new Array(parts - 1).fill(1)];
}
