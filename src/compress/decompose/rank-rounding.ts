import * as tf from '@tensorflow/tfjs';

export interface RankTiming {
  rank: number;
  /** Median milliseconds of x[batch, in] -> [batch, r] -> [batch, out] on the active backend. */
  ms: number;
}

export interface RoundRankOptions {
  /** Round to multiples of this (default 8). */
  multiple?: number;
  /** Largest rank allowed (e.g. from a parameter budget); default: the next multiple up. */
  maxRank?: number;
  batch?: number;
  reps?: number;
  /** Timings within this fraction of the fastest count as ties, won by the larger rank (default 0.03). */
  tolerance?: number;
}

/** Median latency of the two-matmul low-rank product for each rank (interleaved runs), on the active backend. */
export async function measureLowRankLatency(
  inDim: number,
  outDim: number,
  ranks: number[],
  options: { batch?: number; reps?: number } = {},
): Promise<RankTiming[]> {
  const batch = options.batch ?? 64;
  const reps = options.reps ?? 15;
  const x = tf.randomNormal([batch, inDim]);
  const factors = ranks.map((rank) => [
    tf.randomNormal([inDim, rank]),
    tf.randomNormal([rank, outDim]),
  ]);
  const run = (k: number) => {
    const t0 = performance.now();
    const y = tf.tidy(() =>
      tf.matMul(
        tf.matMul(x as tf.Tensor2D, factors[k][0] as tf.Tensor2D),
        factors[k][1] as tf.Tensor2D,
      ),
    );
    y.dataSync();
    y.dispose();
    return performance.now() - t0;
  };
  // Round-robin over the candidates so that load from other processes hits them alike.
  const times = ranks.map(() => [] as number[]);
  for (let i = 0; i < 3 + reps; i++) {
    for (let k = 0; k < ranks.length; k++) {
      const ms = run(k);
      if (i >= 3) times[k].push(ms);
    }
  }
  tf.dispose([x, ...factors.flat()]);
  return ranks.map((rank, k) => {
    const t = times[k].sort((p, q) => p - q);
    return { rank, ms: t[Math.floor(t.length / 2)] };
  });
}

/**
 * Rounds a rank to a size that runs fast on the active backend. Candidates: the rank itself
 * and the multiples of `multiple` from the one below it to `maxRank` (default the one above);
 * each is timed and the fastest wins, a larger rank winning ties within `tolerance` (it costs
 * no time and lowers the error). Kernels with SIMD tiles (wasm/XNNPACK) often run a multiple
 * of 8 as fast as or faster than the odd rank just below it.
 */
export async function roundRankForSpeed(
  inDim: number,
  outDim: number,
  rank: number,
  options: RoundRankOptions = {},
): Promise<{ rank: number; timings: RankTiming[] }> {
  const m = options.multiple ?? 8;
  if (!Number.isInteger(rank) || rank < 1)
    throw new Error(`roundRankForSpeed: rank must be a positive integer, got ${rank}`);
  if (!Number.isInteger(m) || m < 1)
    throw new Error(`roundRankForSpeed: multiple must be a positive integer, got ${m}`);
  const lo = Math.max(m, Math.floor(rank / m) * m);
  const maxRank = Math.min(options.maxRank ?? Math.ceil(rank / m) * m, Math.min(inDim, outDim));
  const candidates = new Set<number>([Math.min(rank, maxRank)]);
  for (let r = lo; r <= maxRank; r += m) candidates.add(r);
  const ranks = [...candidates].sort((a, b) => a - b);
  const timings = await measureLowRankLatency(inDim, outDim, ranks, options);
  const fastest = Math.min(...timings.map((t) => t.ms));
  const tol = options.tolerance ?? 0.03;
  const winner = timings
    .filter((t) => t.ms <= fastest * (1 + tol))
    .reduce((a, b) => (b.rank > a.rank ? b : a));
  return { rank: winner.rank, timings };
}
