// SwiftLearn (Hajimolahoseini et al. 2023, arXiv 2311.15134): warm-up epochs on all the data, then
// an importance score for every training sample, training on the most important fraction `keep`,
// re-scoring every `every` epochs so that dropped samples can come back.
//
// The score frugal uses is EL2N (Paul et al. 2021): |softmax(f(x)) - y|_2 at the current weights,
// in inference mode. For softmax cross-entropy it is exactly the norm of the loss gradient with
// respect to the logits, so high-score samples are those that still move the weights; 'loss'
// (the per-sample cross-entropy) is the alternative. The scoring pass runs inside the training
// loop (a BatchPlan's epochRows), so its time is part of the run's wall time.
import * as tf from '@tensorflow/tfjs';
import { type ClassificationData, gatherBatch } from '../data/dataset.js';
import type { BatchPlan } from '../train/batch-plan.js';
import { defaultForward, type ForwardFn } from '../train/gradients.js';
import { type LossName, resolveLoss } from '../train/loss.js';

export const SWIFTLEARN_SCORES = ['el2n', 'loss'] as const;
export type SwiftLearnScore = (typeof SWIFTLEARN_SCORES)[number];

export interface SwiftLearnConfig {
  /** Fraction of the training split kept after warm-up, in (0, 1). */
  keep: number;
  /** Epochs on all data before the first scoring (>= 1). */
  warmupEpochs: number;
  /** Re-score every this many epochs after warm-up (>= 1). */
  every: number;
  score: SwiftLearnScore;
}

/** What SwiftLearn did: the last scores, the kept rows, when it scored and how long it took. */
export interface SwiftLearnState {
  scores: Float32Array | undefined;
  kept: Int32Array | undefined;
  /** Epochs (1-based) at whose start every training sample was scored. */
  scoredAt: number[];
  /** Samples scored at each scoring (one entry per scoredAt). */
  scoredCounts: number[];
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
 * A BatchPlan for `train` (TrainOptions.batchPlan): all rows in the warm-up epochs, then at the
 * start of epoch warmup+1 and every `every` epochs after, scores every training sample and trains
 * on the top `keep` until the next scoring.
 */
export function swiftLearn(
  model: tf.LayersModel,
  c: SwiftLearnConfig,
  options: { forward?: ForwardFn; loss?: LossName } = {},
): SwiftLearnPlan {
  const state: SwiftLearnState = {
    scores: undefined,
    kept: undefined,
    scoredAt: [],
    scoredCounts: [],
    scoringMs: 0,
  };
  return {
    state,
    epochRows: (epoch, data) => {
      if (epoch <= c.warmupEpochs) return undefined;
      if ((epoch - c.warmupEpochs - 1) % c.every === 0 || !state.kept) {
        const t0 = performance.now();
        state.scores = scoreSamples(model, data, c.score, options);
        state.kept = topRows(state.scores, keptCount(data.train.count, c.keep));
        state.scoringMs += performance.now() - t0;
        state.scoredAt.push(epoch);
        state.scoredCounts.push(state.scores.length);
      }
      return state.kept;
    },
  };
}
