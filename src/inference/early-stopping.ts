/**
 * MLPerf LoadGen's early-stopping estimate of a latency percentile: with N queries, the number
 * of queries X above the true p-th percentile is Binomial(N, 1 - p). The largest t with
 * P(X <= t) <= 1 - confidence is how many queries may lie above the reported latency: the
 * estimate is the (N - t)-th smallest latency, an upper bound on the true percentile at that
 * confidence. With too few queries no t qualifies (e.g. N < 44 for p = 0.9 at 99%).
 */

function logChoose(n: number, k: number, lnFact: Float64Array): number {
  return lnFact[n] - lnFact[k] - lnFact[n - k];
}

const factCache: Float64Array[] = [];
function lnFactorials(n: number): Float64Array {
  const cached = factCache[0];
  if (cached && cached.length > n) return cached;
  const t = new Float64Array(n + 1);
  for (let i = 1; i <= n; i++) t[i] = t[i - 1] + Math.log(i);
  factCache[0] = t;
  return t;
}

function checkArgs(n: number, percentile: number, confidence: number): void {
  if (!Number.isInteger(n) || n < 0)
    throw new Error(`query count must be an integer >= 0, got ${n}`);
  if (!(percentile > 0 && percentile < 1))
    throw new Error(`percentile must be in (0, 1), got ${percentile}`);
  if (!(confidence > 0 && confidence < 1))
    throw new Error(`confidence must be in (0, 1), got ${confidence}`);
}

/**
 * The largest number of queries t allowed above the estimate, or null when N is too small.
 * Sums the binomial terms in log space (stable for LoadGen's query counts, N up to millions).
 */
export function earlyStoppingOverLatency(
  n: number,
  percentile: number,
  confidence = 0.99,
): number | null {
  checkArgs(n, percentile, confidence);
  const a = 1 - percentile;
  const lnA = Math.log(a);
  const lnB = Math.log(percentile);
  const lnFact = lnFactorials(n);
  const alpha = 1 - confidence;
  let cdf = 0;
  let best: number | null = null;
  for (let t = 0; t <= n; t++) {
    cdf += Math.exp(logChoose(n, t, lnFact) + t * lnA + (n - t) * lnB);
    if (cdf <= alpha) best = t;
    else break;
  }
  return best;
}

/** The early-stopping estimate of the percentile of `latencies`, or null with too few. */
export function earlyStoppingEstimate(
  latencies: ArrayLike<number>,
  percentile: number,
  confidence = 0.99,
): number | null {
  const t = earlyStoppingOverLatency(latencies.length, percentile, confidence);
  if (t === null) return null;
  const sorted = Float64Array.from(latencies).sort();
  return sorted[latencies.length - t - 1];
}

/** Smallest query count that gives an early-stopping estimate at all (LoadGen's minimum). */
export function minQueriesForEstimate(percentile: number, confidence = 0.99): number {
  checkArgs(1, percentile, confidence);
  // t = 0 qualifies when p^N <= 1 - confidence.
  return Math.ceil(Math.log(1 - confidence) / Math.log(percentile) - 1e-12);
}

/** Nearest-rank percentile of latencies (the plain figure beside the estimate). */
export function percentileOf(latencies: ArrayLike<number>, p: number): number {
  if (latencies.length === 0) return Number.NaN;
  const sorted = Float64Array.from(latencies).sort();
  const rank = Math.max(1, Math.ceil(p * sorted.length));
  return sorted[rank - 1];
}
