// Paired comparison of two classifiers on the same samples: the accuracy difference, its 95%
// confidence interval over test samples (Wald interval of a paired difference of proportions,
// Agresti & Min 2005, eq. 2) and McNemar's exact two-sided test on the discordant pairs.
// Only test-sample noise is covered: the spread between training runs (seeds) is not.

export interface PairedAccuracy {
  samples: number;
  accuracyA: number;
  accuracyB: number;
  /** accuracyA - accuracyB (a fraction). */
  difference: number;
  /** 95% interval of the difference (a fraction each end). */
  ci95: [number, number];
  /** Samples only A gets right, and only B. */
  onlyA: number;
  onlyB: number;
  /** McNemar's exact two-sided p-value (binomial on the discordant pairs, p = 1/2). */
  mcnemarP: number;
}

const Z95 = 1.959963984540054;

function logChoose(n: number, k: number): number {
  let s = 0;
  for (let i = 1; i <= k; i++) s += Math.log((n - k + i) / i);
  return s;
}

/** Two-sided exact binomial p-value of k successes or fewer (k <= n/2) out of n at p = 1/2. */
export function mcnemarExactP(onlyA: number, onlyB: number): number {
  const n = onlyA + onlyB;
  if (n === 0) return 1;
  const k = Math.min(onlyA, onlyB);
  // P(X <= k) for X ~ Bin(n, 1/2), summed in log space (n up to tens of thousands).
  let tail = 0;
  for (let i = 0; i <= k; i++) tail += Math.exp(logChoose(n, i) - n * Math.LN2);
  return Math.min(1, 2 * tail);
}

/** Compares per-sample correctness vectors (1 right, 0 wrong) of A and B on the same samples. */
export function pairedAccuracy(
  a: ArrayLike<number | boolean>,
  b: ArrayLike<number | boolean>,
): PairedAccuracy {
  if (a.length !== b.length)
    throw new Error(
      `pairedAccuracy: the two vectors differ in length (${a.length} vs ${b.length})`,
    );
  const n = a.length;
  if (n === 0) throw new Error('pairedAccuracy: no samples');
  let rightA = 0;
  let rightB = 0;
  let onlyA = 0;
  let onlyB = 0;
  for (let i = 0; i < n; i++) {
    const x = Number(a[i]);
    const y = Number(b[i]);
    if ((x !== 0 && x !== 1) || (y !== 0 && y !== 1))
      throw new Error(`pairedAccuracy: entries must be 0 or 1, got ${a[i]} and ${b[i]} at ${i}`);
    rightA += x;
    rightB += y;
    if (x > y) onlyA++;
    else if (y > x) onlyB++;
  }
  const difference = (onlyA - onlyB) / n;
  // Var of the mean of d_i in {-1, 0, 1}: (E[d^2] - E[d]^2) / n.
  const se = Math.sqrt(Math.max(0, (onlyA + onlyB) / n - difference * difference) / n);
  return {
    samples: n,
    accuracyA: rightA / n,
    accuracyB: rightB / n,
    difference,
    ci95: [difference - Z95 * se, difference + Z95 * se],
    onlyA,
    onlyB,
    mcnemarP: mcnemarExactP(onlyA, onlyB),
  };
}
