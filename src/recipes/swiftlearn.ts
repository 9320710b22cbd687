// SwiftLearn (Hajimolahoseini et al. 2023, arXiv 2311.15134): warm-up epochs on all the data, then
// an importance score for every training sample, training on the most important fraction `keep`,
// re-scoring every `every` epochs so that dropped samples can come back.
//
// The score frugal uses is EL2N (Paul et al. 2021): |softmax(f(x)) - y|_2 at the current weights,
// in inference mode. For softmax cross-entropy it is exactly the norm of the loss gradient with
// respect to the logits, so high-score samples are those that still move the weights; 'loss'
// (the per-sample cross-entropy) is the alternative. The scoring pass runs inside the training
// loop (a BatchPlan's epochRows), so its time is part of the run's wall time.
//
// The kept rows are chosen per class (balance 'class', the default): each class keeps `keep` of
// its own rows, so the kept set has the training split's class proportions. A global top-k after
// a short warm-up keeps whole classes the model still confuses (on Fashion-MNIST after one epoch:
// every pullover and shirt, 7 of 195 dresses), and training on that set shifts the model's class
// prior until accuracy falls (0.63 -> 0.39 in bench:recipes before this rule). `select` 'top'
// keeps the highest scores of each class; 'sample' draws them without replacement with
// probability proportional to the score (importance sampling, Efraimidis-Spirakis keys), so
// lower-score samples keep a chance and the very hardest (often mislabelled) do not take it all.
import * as tf from '@tensorflow/tfjs';
import { type ClassificationData, gatherBatch } from '../data/dataset.js';
import { makeRng } from '../engine/random.js';
import type { BatchPlan } from '../train/batch-plan.js';
import { defaultForward, type ForwardFn } from '../train/gradients.js';
import { type LossName, resolveLoss } from '../train/loss.js';

export const SWIFTLEARN_SCORES = ['el2n', 'loss'] as const;
export type SwiftLearnScore = (typeof SWIFTLEARN_SCORES)[number];
export const SWIFTLEARN_SELECTS = ['top', 'sample'] as const;
export type SwiftLearnSelect = (typeof SWIFTLEARN_SELECTS)[number];
export const SWIFTLEARN_BALANCES = ['class', 'none'] as const;
export type SwiftLearnBalance = (typeof SWIFTLEARN_BALANCES)[number];

export interface SwiftLearnConfig {
  /** Fraction of the training split kept after warm-up, in (0, 1). */
  keep: number;
  /** Epochs on all data before the first scoring (>= 1). */
  warmupEpochs: number;
  /** Re-score every this many epochs after warm-up (>= 1). */
  every: number;
  score: SwiftLearnScore;
  /** 'top': the highest scores; 'sample': drawn with probability proportional to the score. */
  select: SwiftLearnSelect;
  /** 'class': each class keeps `keep` of its rows; 'none': one ranking over all rows. */
  balance: SwiftLearnBalance;
  /**
   * With select 'sample': draw the kept rows anew at the start of every epoch from the last
   * scores (no extra forward pass), not only at each scoring. Importance sampling as a
   * distribution over the rows: the same scores, more distinct rows seen between scorings.
   */
  redraw?: boolean;
  /** Seed of the 'sample' draws (each scoring draws anew). */
  seed?: number;
}

/** What SwiftLearn did: the last scores, the kept rows, when it scored and how long it took. */
export interface SwiftLearnState {
  scores: Float32Array | undefined;
  kept: Int32Array | undefined;
  /** Epochs (1-based) at whose start every training sample was scored. */
  scoredAt: number[];
  /** Samples scored at each scoring (one entry per scoredAt). */
  scoredCounts: number[];
  /** Epochs (1-based) at whose start the kept rows were drawn (every scoring, and with redraw every epoch after). */
  drawnAt: number[];
  scoringMs: number;
}

export interface SwiftLearnPlan extends BatchPlan {
  state: SwiftLearnState;
}

/** Per-sample importance of every training row at the model's current weights. */
export function scoreSamples(
  model: tf.LayersModel,
  data: ClassificationData,
  score: SwiftLearnScore,
  options: { forward?: ForwardFn; loss?: LossName; batchSize?: number } = {},
): Float32Array {
  const forward = options.forward ?? defaultForward(model);
  const loss = resolveLoss(model, options.loss ?? 'auto');
  const n = data.train.count;
  const bs = options.batchSize ?? 256;
  const out = new Float32Array(n);
  const idx = Int32Array.from({ length: n }, (_, i) => i);
  for (let from = 0; from < n; from += bs) {
    const to = Math.min(from + bs, n);
    const b = gatherBatch(data.train, data.sampleShape, data.numClasses, idx, from, to);
    const s = tf.tidy(() => {
      const y = forward(b.xs, false);
      const p = loss.name === 'logits' ? tf.softmax(y) : y;
      if (score === 'el2n') return tf.sqrt(tf.sum(tf.square(tf.sub(p, b.ys)), -1));
      return tf.neg(tf.log(tf.maximum(tf.sum(tf.mul(p, b.ys), -1), 1e-30)));
    });
    out.set(s.dataSync() as Float32Array, from);
    tf.dispose([s, b.xs, b.ys]);
  }
  return out;
}

/** The `k` rows of highest score (ties to the lower row), ascending by row. */
export function topRows(scores: Float32Array, k: number): Int32Array {
  const order = Array.from({ length: scores.length }, (_, i) => i);
  order.sort((a, b) => scores[b] - scores[a] || a - b);
  return Int32Array.from(order.slice(0, k)).sort();
}

/** Rows kept of `n` at fraction `keep` (at least one). */
export function keptCount(n: number, keep: number): number {
  return Math.max(1, Math.round(n * keep));
}

/**
 * How many rows each class keeps so that the total is keptCount(n, keep) and each class gets its
 * share (largest remainder; a class with rows keeps at least one while the total allows).
 */
export function classQuotas(labels: Int32Array, numClasses: number, keep: number): number[] {
  const counts = new Array<number>(numClasses).fill(0);
  for (const y of labels) counts[y]++;
  const total = keptCount(labels.length, keep);
  const exact = counts.map((c) => c * (total / labels.length));
  const q = exact.map((e, c) => Math.min(counts[c], Math.floor(e)));
  let left = total - q.reduce((a, b) => a + b, 0);
  // Classes still at zero first, then by the largest remainder.
  const first = (c: number) => (q[c] === 0 ? 1 : 0);
  const rem = (c: number) => exact[c] - q[c];
  const order = counts
    .map((_, c) => c)
    .filter((c) => counts[c] > 0)
    .sort((a, b) => first(b) - first(a) || rem(b) - rem(a) || a - b);
  for (let i = 0; left > 0 && order.length > 0; i = (i + 1) % order.length) {
    const c = order[i];
    if (q[c] < counts[c]) {
      q[c]++;
      left--;
    }
  }
  return q;
}

/**
 * The rows kept at the given scores, ascending by row: keptCount(n, keep) of them, per class
 * (`labels` given, quotas from classQuotas) or over all rows, by top score or by importance
 * sampling (keys u^(1/score), `rng` needed).
 */
export function selectRows(
  scores: Float32Array,
  keep: number,
  options: {
    labels?: Int32Array;
    numClasses?: number;
    select?: SwiftLearnSelect;
    rng?: () => number;
  } = {},
): Int32Array {
  const select = options.select ?? 'top';
  let keys = scores;
  if (select === 'sample') {
    const rng = options.rng;
    if (!rng) throw new Error("selectRows: select 'sample' needs an rng");
    // log of u^(1/w) = log(u) / w; a zero score gets the lowest key.
    keys = Float32Array.from(scores, (w) => {
      const u = Math.max(rng(), 1e-300);
      return w > 0 ? Math.log(u) / w : Number.NEGATIVE_INFINITY;
    });
  }
  const { labels, numClasses } = options;
  if (!labels) return topRows(keys, keptCount(scores.length, keep));
  if (labels.length !== scores.length)
    throw new Error(`selectRows: ${labels.length} labels for ${scores.length} scores`);
  const k = numClasses ?? Math.max(...labels) + 1;
  const quotas = classQuotas(labels, k, keep);
  const byClass: number[][] = Array.from({ length: k }, () => []);
  for (let i = 0; i < labels.length; i++) byClass[labels[i]].push(i);
  const out: number[] = [];
  for (let c = 0; c < k; c++) {
    const rows = byClass[c];
    rows.sort((a, b) => keys[b] - keys[a] || a - b);
    for (let i = 0; i < quotas[c]; i++) out.push(rows[i]);
  }
  return Int32Array.from(out).sort();
}

/**
 * A BatchPlan for `train` (TrainOptions.batchPlan): all rows in the warm-up epochs, then at the
 * start of epoch warmup+1 and every `every` epochs after, scores every training sample and trains
 * on the top `keep` until the next scoring (with `redraw`, a fresh importance-sampled draw from
 * those scores every epoch).
 */
export function swiftLearn(
  model: tf.LayersModel,
  c: SwiftLearnConfig,
  options: { forward?: ForwardFn; loss?: LossName } = {},
): SwiftLearnPlan {
  const rng = makeRng((c.seed ?? 0) * 2654435761 + 17);
  const state: SwiftLearnState = {
    scores: undefined,
    kept: undefined,
    scoredAt: [],
    scoredCounts: [],
    drawnAt: [],
    scoringMs: 0,
  };
  if (c.redraw && c.select !== 'sample')
    throw new Error(
      `swiftLearn: redraw applies to select 'sample' (select '${c.select}' keeps the same top rows until the next scoring): drop redraw or use 'sample'`,
    );
  const draw = (data: ClassificationData, scores: Float32Array) =>
    selectRows(scores, c.keep, {
      labels: c.balance === 'class' ? data.train.y : undefined,
      numClasses: data.numClasses,
      select: c.select,
      rng,
    });
  return {
    state,
    epochRows: (epoch, data) => {
      if (epoch <= c.warmupEpochs) return undefined;
      if ((epoch - c.warmupEpochs - 1) % c.every === 0 || !state.kept || !state.scores) {
        const t0 = performance.now();
        state.scores = scoreSamples(model, data, c.score, options);
        state.kept = draw(data, state.scores);
        state.scoringMs += performance.now() - t0;
        state.scoredAt.push(epoch);
        state.scoredCounts.push(state.scores.length);
        state.drawnAt.push(epoch);
      } else if (c.redraw) {
        const t0 = performance.now();
        state.kept = draw(data, state.scores);
        state.scoringMs += performance.now() - t0;
        state.drawnAt.push(epoch);
      }
      return state.kept;
    },
  };
}
