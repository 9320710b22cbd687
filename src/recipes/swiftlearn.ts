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
//
// Two changes to the 'sample' draw (Katharopoulos & Fleuret 2018, "Not all samples are created
// equal"): `mix` blends the score distribution with uniform, each row's weight a_i =
// (1 - mix) s_i / mean(s) + mix (the mean over the class, or over all rows with balance 'none'),
// so that no row's chance falls below mix times uniform; `weighted` makes the kept epoch an
// unbiased estimate of a full one: rows are drawn with replacement with probability p_i = a_i /
// sum(a), and each drawn row's loss is scaled by 1 / (n p_i) = 1 / a_i, so the expected gradient of
// a kept step is that of a uniform step. With mix m the weights are at most 1 / m. The weight
// rides on the row's one-hot target (scaled by it) and the plan's loss hook (`hooks`, pass it to
// `train`) reads it back: tfjs's softmax cross-entropy has a gradient of softmax - y, right only
// for targets that sum to 1, so a scaled target alone trains toward p = w (bench:recipes: 16-17
// points lost); the hook takes w = sum(y), y / w as the target, and scales the gradient through
// each row's output by w (any loss around it, label smoothing included, sees one-hot targets).
import * as tf from '@tensorflow/tfjs';
import { type Batch, type ClassificationData, gatherBatch } from '../data/dataset.js';
import { makeRng } from '../engine/random.js';
import type { BatchPlan } from '../train/batch-plan.js';
import { defaultForward, type ForwardFn, type StepHooks } from '../train/gradients.js';
import { type Loss, type LossName, resolveLoss } from '../train/loss.js';

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
  /** With select 'sample': the uniform share of the sampling weights, in [0, 1] (default 0). */
  mix?: number;
  /**
   * With select 'sample': draw with replacement and scale each drawn row's loss by its importance
   * weight 1 / a_i (unbiased; see the file comment). Needs batches that carry their rows
   * (gatherBatch's Batch.rows) and a loss linear in the targets (the cross-entropies).
   */
  weighted?: boolean;
  /**
   * Scores averaged over scorings: each scoring keeps this share of the previous scores,
   * s <- average s_prev + (1 - average) s_new, in [0, 1) (default 0: the last scores alone).
   * One scoring is a noisy read of a sample's importance (a minibatch step moves it); the
   * average keeps a sample that was important a scoring ago from dropping out at once.
   */
  average?: number;
  /**
   * Share of the rows each warm-up epoch trains on, in (0, 1] (default 1: all of them): below 1
   * a sub-epoch warm-up, a fresh class-balanced uniform draw each warm-up epoch, so the first
   * scoring comes sooner.
   */
  warmupKeep?: number;
  /**
   * Annealed keep: over this many epochs after the warm-up the kept share falls linearly from 1
   * to `keep` (epoch warm-up + j keeps 1 - (1 - keep) min(1, j / anneal)), then stays at `keep`
   * (default 0: `keep` from the first kept epoch). Needs a draw every epoch (`redraw`).
   */
  anneal?: number;
  /**
   * Scores from the training steps' own forward passes: each row's EL2N (or loss) at its last
   * training step, in training mode, read from the step's outputs by the plan's loss hook, so no
   * scoring pass runs (scoring costs nothing). A row not trained on since keeps its older score;
   * each scoring (every `every` epochs) snapshots them. Needs batches that carry their rows.
   */
  cachedScores?: boolean;
}

/** What SwiftLearn did: the last scores, the kept rows, when it scored and how long it took. */
export interface SwiftLearnState {
  scores: Float32Array | undefined;
  kept: Int32Array | undefined;
  /** Epochs (1-based) at whose start every training sample was scored. */
  scoredAt: number[];
  /** Samples scored at each scoring (one entry per scoredAt). */
  scoredCounts: number[];
  /** The kept share of each draw (one entry per drawnAt; below 1 with `anneal`). */
  keptShares: number[];
  /** Epochs (1-based) at whose start the kept rows were drawn (every scoring, and with redraw every epoch after). */
  drawnAt: number[];
  scoringMs: number;
  /**
   * With `weighted`: each training row's importance weight 1 / a_i at the last draw (the loss
   * scale of a drawn row); undefined before the first scoring.
   */
  weights?: Float32Array;
}

export interface SwiftLearnPlan extends BatchPlan {
  state: SwiftLearnState;
  /** With `weighted`: the loss hook that applies the weights (pass it to `train` with the plan). */
  hooks?: StepHooks;
}

/** x itself, with the gradient flowing back through row i scaled by w_i (w [rows]). */
const scaleRowGradient = tf.customGrad((...args: unknown[]) => {
  const [x, w, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
  save([w]);
  return {
    value: x.clone(),
    gradFunc: (dy, saved) => {
      const [ws] = saved;
      const shape = [ws.shape[0] as number, ...new Array((dy as tf.Tensor).rank - 1).fill(1)];
      return [tf.mul(dy as tf.Tensor, tf.reshape(ws, shape)), tf.zerosLike(ws)];
    },
  };
}) as (x: tf.Tensor, w: tf.Tensor) => tf.Tensor;

/**
 * The loss of targets that carry a per-sample weight as their row sum (weightTargets): with
 * w = sum(y), the base loss of the targets y / w, its gradient through row i scaled by w_i. So
 * the gradient is that of the mean of w_i times each row's base loss, for any base (the
 * cross-entropies, label smoothing around them, mse), and the value is the base loss of the
 * unweighted targets (what the loop reports). Rows of weight 1 give the base loss exactly.
 */
export function weightedTargetsLoss(base: Loss): Loss {
  const split = (ys: tf.Tensor, out: tf.Tensor) => {
    const w = tf.sum(ys, -1);
    const y = tf.div(ys, tf.expandDims(tf.maximum(w, 1e-12), -1));
    return { y, out: scaleRowGradient(out, w) };
  };
  return {
    name: base.name,
    mean: (ys, out) =>
      tf.tidy(() => {
        const s = split(ys, out);
        return base.mean(s.y, s.out);
      }),
    sum: (ys, out) =>
      tf.tidy(() => {
        const s = split(ys, out);
        return base.sum(s.y, s.out);
      }),
  };
}

/**
 * Each row's score from the model's outputs `out` for targets `y` (rows summing to 1): EL2N
 * |p - y|_2 or the cross-entropy -log <p, y>, p the softmax of logits or the probabilities.
 */
function rowScores(
  out: tf.Tensor,
  y: tf.Tensor,
  score: SwiftLearnScore,
  loss: LossName,
): tf.Tensor {
  const p = loss === 'logits' ? tf.softmax(out) : out;
  if (score === 'el2n') return tf.sqrt(tf.sum(tf.square(tf.sub(p, y)), -1));
  return tf.neg(tf.log(tf.maximum(tf.sum(tf.mul(p, y), -1), 1e-30)));
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
    const s = tf.tidy(() => rowScores(forward(b.xs, false), b.ys, score, loss.name));
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
 * The sampling weights a_i = (1 - mix) s_i / mean(s) + mix, the mean over each row's class
 * (`labels` given) or over all rows; a group whose scores are all zero gets a_i = 1 (uniform).
 * Every group's weights have mean 1.
 */
export function mixedWeights(
  scores: Float32Array,
  mix: number,
  labels?: Int32Array,
  numClasses = 1,
): Float32Array {
  if (!(mix >= 0 && mix <= 1)) throw new Error(`mixedWeights: mix must be in [0, 1], got ${mix}`);
  const group = (i: number) => (labels ? labels[i] : 0);
  const k = labels ? numClasses : 1;
  const sum = new Float64Array(k);
  const count = new Float64Array(k);
  for (let i = 0; i < scores.length; i++) {
    if (!(scores[i] >= 0)) throw new Error(`mixedWeights: score ${i} is ${scores[i]} (need >= 0)`);
    sum[group(i)] += scores[i];
    count[group(i)]++;
  }
  return Float32Array.from(scores, (s, i) => {
    const g = group(i);
    return sum[g] > 0 ? ((1 - mix) * s * count[g]) / sum[g] + mix : 1;
  });
}

/**
 * `k` rows drawn with replacement with probability proportional to `weights[rows[j]]` among
 * `rows` (inverse-CDF draws), ascending.
 */
export function drawWithReplacement(
  rows: ArrayLike<number>,
  weights: Float32Array,
  k: number,
  rng: () => number,
): number[] {
  const cdf = new Float64Array(rows.length);
  let acc = 0;
  for (let j = 0; j < rows.length; j++) {
    acc += weights[rows[j]];
    cdf[j] = acc;
  }
  if (!(acc > 0)) throw new Error('drawWithReplacement: the weights sum to zero');
  const out: number[] = [];
  for (let t = 0; t < k; t++) {
    const u = rng() * acc;
    let lo = 0;
    let hi = rows.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid] > u) hi = mid;
      else lo = mid + 1;
    }
    out.push(rows[lo]);
  }
  return out.sort((a, b) => a - b);
}

/**
 * The importance-weighted draw: keptCount(n, keep) rows with replacement (per class with the
 * class quotas, `labels` given, else over all rows), each with probability a_i / sum(a) in its
 * group (a = mixedWeights), and every row's loss scale 1 / a_i.
 */
export function weightedDraw(
  scores: Float32Array,
  keep: number,
  o: { mix: number; rng: () => number; labels?: Int32Array; numClasses?: number },
): { rows: Int32Array; weights: Float32Array } {
  const { labels } = o;
  const k = labels ? (o.numClasses ?? Math.max(...labels) + 1) : 1;
  const a = mixedWeights(scores, o.mix, labels, k);
  if (a.some((x) => !(x > 0)))
    throw new Error(
      'weightedDraw: a row has sampling weight 0 (a zero score with mix 0): set mix above 0 so every row can be drawn',
    );
  const weights = Float32Array.from(a, (x) => 1 / x);
  if (!labels) {
    const all = Int32Array.from({ length: scores.length }, (_, i) => i);
    return {
      rows: Int32Array.from(drawWithReplacement(all, a, keptCount(scores.length, keep), o.rng)),
      weights,
    };
  }
  const quotas = classQuotas(labels, k, keep);
  const byClass: number[][] = Array.from({ length: k }, () => []);
  for (let i = 0; i < labels.length; i++) byClass[labels[i]].push(i);
  const out: number[] = [];
  for (let c = 0; c < k; c++)
    if (quotas[c] > 0) out.push(...drawWithReplacement(byClass[c], a, quotas[c], o.rng));
  return { rows: Int32Array.from(out).sort(), weights };
}

/** `batch` with each row's one-hot target scaled by its weight (the batch must carry its rows). */
export function weightTargets(batch: Batch, weights: Float32Array): Batch {
  const rows = batch.rows;
  if (!rows)
    throw new Error(
      'SwiftLearn weighted: the batch does not say which rows it holds (Batch.rows): give it the batches of gatherBatch, before a transform that makes new batches',
    );
  const w = Float32Array.from(rows, (r) => weights[r]);
  const ys = tf.tidy(() => tf.mul(batch.ys, tf.tensor2d(w, [w.length, 1]))) as tf.Tensor2D;
  // A new batch owns its tensors (the loop disposes the original's): xs is a clone (shared data).
  return { ...batch, xs: batch.xs.clone(), ys };
}

/**
 * A BatchPlan for `train` (TrainOptions.batchPlan): all rows (or `warmupKeep` of them) in the
 * warm-up epochs, then at the
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
    keptShares: [],
    drawnAt: [],
    scoringMs: 0,
  };
  if (c.redraw && c.select !== 'sample')
    throw new Error(
      `swiftLearn: redraw applies to select 'sample' (select '${c.select}' keeps the same top rows until the next scoring): drop redraw or use 'sample'`,
    );
  const mix = c.mix ?? 0;
  if (!(mix >= 0 && mix <= 1)) throw new Error(`swiftLearn: mix must be in [0, 1], got ${mix}`);
  if ((mix > 0 || c.weighted) && c.select !== 'sample')
    throw new Error(
      `swiftLearn: ${c.weighted ? 'weighted' : 'mix'} applies to select 'sample' (select '${c.select}' draws nothing): drop it or use 'sample'`,
    );
  const average = c.average ?? 0;
  if (!(average >= 0 && average < 1))
    throw new Error(`swiftLearn: average must be in [0, 1), got ${average}`);
  const warmupKeep = c.warmupKeep ?? 1;
  if (!(warmupKeep > 0 && warmupKeep <= 1))
    throw new Error(`swiftLearn: warmupKeep must be in (0, 1], got ${warmupKeep}`);
  const anneal = c.anneal ?? 0;
  if (!(Number.isInteger(anneal) && anneal >= 0))
    throw new Error(`swiftLearn: anneal must be an integer >= 0 (epochs), got ${anneal}`);
  if (anneal > 0 && !c.redraw)
    throw new Error(
      'swiftLearn: anneal changes the kept share every epoch, which needs a draw every epoch: set redraw (select sample)',
    );
  /** The kept share at (1-based) epoch `epoch` after the warm-up. */
  const keepAt = (epoch: number): number => {
    const j = epoch - c.warmupEpochs;
    return j >= anneal ? c.keep : 1 - ((1 - c.keep) * j) / anneal;
  };
  const cached = c.cachedScores === true;
  // Training-step scores of every row (cachedScores), NaN until the row's first step.
  let cache: Float32Array | undefined;
  let pendingRows: Int32Array | undefined;
  const warmupRows = (data: ClassificationData): Int32Array | undefined =>
    warmupKeep === 1
      ? undefined
      : selectRows(new Float32Array(data.train.count).fill(1), warmupKeep, {
          labels: data.train.y,
          numClasses: data.numClasses,
          select: 'sample',
          rng,
        });
  const draw = (data: ClassificationData, scores: Float32Array, epoch: number): Int32Array => {
    const labels = c.balance === 'class' ? data.train.y : undefined;
    const keep = keepAt(epoch);
    state.keptShares.push(keep);
    if (c.weighted) {
      const d = weightedDraw(scores, keep, { mix, rng, labels, numClasses: data.numClasses });
      state.weights = d.weights;
      return d.rows;
    }
    const keys = mix > 0 ? mixedWeights(scores, mix, labels, data.numClasses) : scores;
    return selectRows(keys, keep, {
      labels,
      numClasses: data.numClasses,
      select: c.select,
      rng,
    });
  };
  // Weights apply to the kept epochs only (the warm-up trains on every row once, weight 1).
  let weighting = false;
  // Whether the loss hook ran (every step calls it): a weighted target without it trains wrong.
  let hooked = false;
  const hookError = (what: string) =>
    new Error(
      `SwiftLearn ${what}: the plan's loss hook has not run: pass the plan's hooks (prepareDataRecipe's hooks) to train with its batch plan`,
    );
  // cachedScores: each step's loss records its rows' scores (rows from the step's batch).
  const record = (base: Loss): Loss => {
    const rec = (ys: tf.Tensor, out: tf.Tensor) => {
      const rows = pendingRows;
      if (!(rows && cache)) return;
      if (rows.length !== out.shape[0])
        throw new Error(
          `SwiftLearn cachedScores: the step has ${out.shape[0]} outputs for the batch's ${rows.length} rows (a transform that changes the batch size runs after SwiftLearn's)`,
        );
      // The targets back to rows summing to 1 (the weighted loss scales them).
      const s = tf.tidy(() =>
        rowScores(out, tf.div(ys, tf.maximum(tf.sum(ys, -1, true), 1e-12)), c.score, base.name),
      );
      const v = s.dataSync();
      s.dispose();
      for (let i = 0; i < rows.length; i++) cache[rows[i]] = v[i];
    };
    return {
      name: base.name,
      mean: (ys, out) => {
        rec(ys, out);
        return base.mean(ys, out);
      },
      sum: (ys, out) => {
        rec(ys, out);
        return base.sum(ys, out);
      },
    };
  };
  /** The cached scores, a row never trained on given the mean of the others. */
  const snapshot = (): Float32Array => {
    const cur = cache as Float32Array;
    let sum = 0;
    let seen = 0;
    for (const x of cur)
      if (!Number.isNaN(x)) {
        sum += x;
        seen++;
      }
    if (seen === 0) throw hookError('cachedScores');
    return Float32Array.from(cur, (x) => (Number.isNaN(x) ? sum / seen : x));
  };
  return {
    state,
    hooks:
      c.weighted || cached
        ? {
            loss: (base) => {
              hooked = true;
              const l = c.weighted ? weightedTargetsLoss(base) : base;
              return cached ? record(l) : l;
            },
          }
        : undefined,
    transform:
      c.weighted || cached
        ? (batch) => {
            if (cached) {
              if (!batch.rows)
                throw new Error(
                  'SwiftLearn cachedScores: the batch does not say which rows it holds (Batch.rows): give it the batches of gatherBatch, before a transform that makes new batches',
                );
              pendingRows = batch.rows;
            }
            if (!(c.weighted && weighting && state.weights)) return batch;
            if (!hooked) throw hookError('weighted');
            return weightTargets(batch, state.weights);
          }
        : undefined,
    epochRows: (epoch, data) => {
      weighting = epoch > c.warmupEpochs;
      if (cached && !cache) cache = new Float32Array(data.train.count).fill(Number.NaN);
      if (epoch <= c.warmupEpochs) return warmupRows(data);
      if ((epoch - c.warmupEpochs - 1) % c.every === 0 || !state.kept || !state.scores) {
        const t0 = performance.now();
        const fresh = cached ? snapshot() : scoreSamples(model, data, c.score, options);
        const prev = state.scores;
        state.scores =
          prev && average > 0
            ? Float32Array.from(fresh, (x, i) => average * prev[i] + (1 - average) * x)
            : fresh;
        state.kept = draw(data, state.scores, epoch);
        state.scoringMs += performance.now() - t0;
        state.scoredAt.push(epoch);
        state.scoredCounts.push(state.scores.length);
        state.drawnAt.push(epoch);
      } else if (c.redraw) {
        const t0 = performance.now();
        state.kept = draw(data, state.scores, epoch);
        state.scoringMs += performance.now() - t0;
        state.drawnAt.push(epoch);
      }
      return state.kept;
    },
  };
}
