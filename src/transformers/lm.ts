import * as tf from '@tensorflow/tfjs';
import type { Batch } from '../data/dataset.js';
import { makeRng, type Rng } from '../engine/random.js';
import { makeOptimizer } from '../train/optimizer.js';
import { defaultForward, type ForwardFn, trainStep } from '../train/step.js';
import type { ByteTokenizer } from './tokenizer.js';

/**
 * A language-model batch: ids [B, L] (float32, as the training step feeds them) and one-hot
 * next tokens [B, L, V], windows starting at `starts`. Labels hold the next-token ids.
 */
export function lmBatch(
  tokens: Int32Array,
  starts: ArrayLike<number>,
  contextLength: number,
  vocabSize: number,
): Batch {
  const b = starts.length;
  const L = contextLength;
  const x = new Float32Array(b * L);
  const labels = new Int32Array(b * L);
  for (let i = 0; i < b; i++) {
    const s = starts[i];
    if (s < 0 || s + L + 1 > tokens.length)
      throw new Error(
        `lmBatch: window at ${s} needs ${L + 1} tokens, the text has ${tokens.length}`,
      );
    for (let j = 0; j < L; j++) {
      x[i * L + j] = tokens[s + j];
      labels[i * L + j] = tokens[s + j + 1];
    }
  }
  const xs = tf.tensor2d(x, [b, L]);
  const ys = tf.tidy(() =>
    tf.oneHot(tf.tensor2d(labels, [b, L], 'int32'), vocabSize).toFloat(),
  ) as unknown as tf.Tensor2D;
  return { xs, ys, labels, size: b };
}

function randomStarts(rng: Rng, n: number, count: number, L: number): number[] {
  const room = count - L - 1;
  if (room < 0) throw new Error(`the text has ${count} tokens, a window needs ${L + 1}`);
  return Array.from({ length: n }, () => Math.floor(rng() * (room + 1)));
}

export interface LmTrainOptions {
  steps: number;
  batchSize: number;
  learningRate: number;
  seed?: number;
  /** A custom training forward (e.g. a remat plan's); default the model's own. */
  forward?: ForwardFn;
  /**
   * Replaces the plain cross-entropy step (e.g. `distillStep`); gets the batch, returns the loss.
   * The optimizer is the one this function makes.
   */
  step?: (batch: Batch, optimizer: tf.Optimizer) => number;
  onStep?: (step: number, loss: number) => void;
}

export interface LmTrainResult {
  losses: number[];
  /** Mean wall time of a step, excluding the first. */
  meanStepMs: number;
  tokensPerSecond: number;
}

/**
 * Trains a language model on random windows of `tokens` with Adam, one `trainStep` (the
 * library's classification step: softmax cross-entropy over every position) per batch. Leaves
 * no tensors behind. (A minimal loop: train() iterates a ClassificationData, which has one label
 * per sample.)
 */
export function trainLm(
  model: tf.LayersModel,
  tokens: Int32Array,
  o: LmTrainOptions,
): LmTrainResult {
  const { contextLength: L, vocabSize: V } = lmShape(model);
  if (!Number.isInteger(o.steps) || o.steps < 1)
    throw new Error(`trainLm: steps must be a positive integer, got ${o.steps}`);
  const rng = makeRng(o.seed ?? 0);
  const optimizer = makeOptimizer('adam', o.learningRate);
  const ctx = { model, optimizer, forward: o.forward };
  const losses: number[] = [];
  let timed = 0;
  try {
    for (let s = 0; s < o.steps; s++) {
      const batch = lmBatch(tokens, randomStarts(rng, o.batchSize, tokens.length, L), L, V);
      const t0 = performance.now();
      const loss = o.step ? o.step(batch, optimizer) : trainStep(ctx, batch);
      if (s > 0) timed += performance.now() - t0;
      tf.dispose([batch.xs, batch.ys]);
      if (!Number.isFinite(loss))
        throw new Error(`LM training diverged: loss ${loss} at step ${s + 1}`);
      losses.push(loss);
      o.onStep?.(s + 1, loss);
    }
  } finally {
    optimizer.dispose();
  }
  const meanStepMs = o.steps > 1 ? timed / (o.steps - 1) : Number.NaN;
  return { losses, meanStepMs, tokensPerSecond: (o.batchSize * L * 1000) / meanStepMs };
}

/** Context length and vocabulary of a [batch, L] -> [batch, L, V] language model. */
export function lmShape(model: tf.LayersModel): { contextLength: number; vocabSize: number } {
  const inShape = model.inputs[0].shape;
  const outShape = model.outputs[0].shape;
  if (inShape.length !== 2 || outShape.length !== 3 || inShape[1] == null || outShape[2] == null)
    throw new Error(
      `not a language model: expected ids [batch, L] -> logits [batch, L, vocab], got [${inShape}] -> [${outShape}]`,
    );
  return { contextLength: inShape[1], vocabSize: outShape[2] };
}

/**
 * Perplexity exp(mean next-token cross-entropy) over consecutive non-overlapping windows of
 * `tokens` (every position of each window predicted, as in training).
 */
export function perplexity(
  model: tf.LayersModel,
  tokens: Int32Array,
  options: { batchSize?: number; maxWindows?: number; forward?: ForwardFn } = {},
): { perplexity: number; meanLoss: number; tokens: number } {
  const { contextLength: L, vocabSize: V } = lmShape(model);
  const forward = options.forward ?? defaultForward(model);
  let windows = Math.floor((tokens.length - 1) / L);
  if (options.maxWindows !== undefined) windows = Math.min(windows, options.maxWindows);
  if (windows < 1)
    throw new Error(`perplexity: the text has ${tokens.length} tokens, a window needs ${L + 1}`);
  const bs = options.batchSize ?? 16;
  let sum = 0;
  for (let w = 0; w < windows; w += bs) {
    const starts = Array.from({ length: Math.min(bs, windows - w) }, (_, i) => (w + i) * L);
    const batch = lmBatch(tokens, starts, L, V);
    const s = tf.tidy(
      () =>
        tf.losses
          .softmaxCrossEntropy(
            batch.ys,
            forward(batch.xs, false),
            undefined,
            undefined,
            tf.Reduction.SUM,
          )
          .dataSync()[0],
    );
    tf.dispose([batch.xs, batch.ys]);
    sum += s;
  }
  const meanLoss = sum / (windows * L);
  return { perplexity: Math.exp(meanLoss), meanLoss, tokens: windows * L };
}

export interface GenerateOptions {
  /** Tokens to add (default 100). */
  maxTokens?: number;
  /** 0 (default) picks the most likely token; > 0 samples from softmax(logits / temperature). */
  temperature?: number;
  seed?: number;
}

/**
 * Continues `prompt` token by token. The model sees the last `contextLength` tokens, placed at
 * positions 0..n-1; positions after them are padding, which a causal model cannot see.
 */
export function generate(
  model: tf.LayersModel,
  tokenizer: ByteTokenizer,
  prompt: string,
  options: GenerateOptions = {},
): string {
  const { contextLength: L, vocabSize: V } = lmShape(model);
  if (tokenizer.vocabSize !== V)
    throw new Error(`the tokenizer has ${tokenizer.vocabSize} tokens, the model ${V}`);
  if (prompt.length === 0) throw new Error('the prompt is empty: give at least one character');
  const maxTokens = options.maxTokens ?? 100;
  if (!Number.isInteger(maxTokens) || maxTokens < 1)
    throw new Error(`maxTokens must be a positive integer, got ${maxTokens}`);
  const temperature = options.temperature ?? 0;
  if (!(temperature >= 0) || !Number.isFinite(temperature))
    throw new Error(`temperature must be a number >= 0, got ${temperature}`);
  const ids = [...tokenizer.encode(prompt)];
  const rng = makeRng(options.seed ?? 0);
  const out: number[] = [];
  for (let t = 0; t < maxTokens; t++) {
    const ctx = ids.slice(-L);
    const n = ctx.length;
    const x = new Float32Array(L);
    x.set(ctx);
    const probs = tf.tidy(() => {
      const logits = (model.predict(tf.tensor2d(x, [1, L])) as tf.Tensor).slice(
        [0, n - 1, 0],
        [1, 1, V],
      );
      return temperature === 0 ? logits.dataSync() : tf.softmax(logits.div(temperature)).dataSync();
    });
    let next = 0;
    if (temperature === 0) {
      for (let v = 1; v < V; v++) if (probs[v] > probs[next]) next = v;
    } else {
      let u = rng();
      next = V - 1;
      for (let v = 0; v < V; v++) {
        u -= probs[v];
        if (u <= 0) {
          next = v;
          break;
        }
      }
    }
    ids.push(next);
    out.push(next);
  }
  return tokenizer.decode(out);
}
