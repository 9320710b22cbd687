import * as tf from '@tensorflow/tfjs';
import { configWith } from '../layers/layer-config.js';
import { classAttention } from './class-attention.js';
import { gatherRows } from './row-gather.js';

/** Checks a SkipViT drop ratio: the fraction of patch tokens that skip, in [0, 1). */
export function checkDropRatio(ratio: unknown): number {
  if (typeof ratio !== 'number' || !Number.isFinite(ratio) || ratio < 0 || ratio >= 1)
    throw new Error(`SkipViT: drop ratio must be in [0, 1), got ${String(ratio)}`);
  return ratio;
}

/** Tokens kept (class token included) of `tokens` (class token included) at a drop ratio. */
export function keptTokens(tokens: number, ratio: number): number {
  checkDropRatio(ratio);
  return tokens - Math.round(ratio * (tokens - 1));
}

/**
 * How SkipViT ranks the patch tokens:
 * - 'attention': the class token's attention in the first skipped block, as that block would
 *   compute it over every token (its layer-norm and query/key projections, softmax, mean over
 *   the heads): the paper's importance, from learned weights.
 * - 'norm': the class token's attention logit with q = k = the layer-normalised token (no
 *   parameters), computable anywhere from the stream alone.
 */
const SKIP_IMPORTANCE = ['attention', 'norm'] as const;
export type SkipImportance = (typeof SKIP_IMPORTANCE)[number];

/** Checks a SkipViT importance name. */
function checkImportance(v: unknown): SkipImportance {
  if (!SKIP_IMPORTANCE.includes(v as SkipImportance))
    throw new Error(
      `SkipViT: importance must be one of ${SKIP_IMPORTANCE.join(', ')}, got ${String(v)}`,
    );
  return v as SkipImportance;
}

/**
 * Importance of each token of [batch, tokens, d] (token 0 the class token): the class token's
 * attention logit to it, q = k = the layer-normalised token (no parameters), so it can be computed
 * anywhere from the stream itself. Returns [batch, tokens] (the class token's own entry unused).
 */
export function classAttentionScores(x: tf.Tensor3D): tf.Tensor2D {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, -1, true);
    const n = tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5)));
    const [b, , d] = n.shape;
    const cls = n.slice([0, 0, 0], [b, 1, d]);
    return tf.matMul(cls, n, false, true).squeeze([1]) as tf.Tensor2D;
  });
}

/**
 * Flat row indices (into [batch * tokens]) of the kept tokens, per sample the class token and the
 * `kept - 1` patch tokens of highest importance `scores` ([batch, tokens]; default
 * `classAttentionScores(x)`), in their original order. Ties go to the earlier token.
 */
export function keptRows(x: tf.Tensor3D, kept: number, scores?: tf.Tensor2D): Int32Array {
  const [b, n] = x.shape;
  const rows = new Int32Array(b * kept);
  if (kept === n) {
    for (let i = 0; i < b * n; i++) rows[i] = i;
    return rows;
  }
  const s = scores ?? tf.tidy(() => classAttentionScores(x));
  const values = s.dataSync();
  if (s !== scores) s.dispose();
  const order = new Array<number>(n - 1);
  for (let i = 0; i < b; i++) {
    for (let j = 0; j < n - 1; j++) order[j] = j + 1;
    const base = i * n;
    order.sort((p, q) => values[base + q] - values[base + p] || p - q);
    const pick = order.slice(0, kept - 1).sort((p, q) => p - q);
    rows[i * kept] = base;
    pick.forEach((j, k) => {
      rows[i * kept + k + 1] = base + j;
    });
  }
  return rows;
}

interface SkipArgs {
  /** Fraction of patch tokens that skip, in [0, 1). */
  dropRatio: number;
  /** How tokens are ranked (default 'norm', see `SkipImportance`). */
  importance?: SkipImportance;
  /**
   * Whether tokens also skip at inference (default true). False: skipping is a training-time
   * saving only; evaluation and prediction run every token through every block.
   */
  skipAtInference?: boolean;
  name?: string;
  trainable?: boolean;
}

const hasWeight = (layer: tf.layers.Layer, suffix: string) =>
  layer.weights.some((w) => w.originalName.endsWith(`/${suffix}`));

/** The layers that consume `layer`'s (first) output. */
const consumers = (layer: tf.layers.Layer) =>
  (layer as unknown as { outboundNodes: { outboundLayer: tf.layers.Layer }[] }).outboundNodes.map(
    (n) => n.outboundLayer,
  );

/**
 * SkipViT split: [batch, tokens, d] -> [batch, kept, d], the class token and the most important
 * patch tokens (see `SkipImportance`) in order. The skipped tokens take no part in the blocks that
 * follow until `TokenRejoin`, which reads them from this layer's input. No parameters. At drop
 * ratio 0 it passes every token through. The drop ratio may be changed between steps
 * (`setDropRatio`, e.g. a dense warm-up, see `skipWarmup`).
 */
export class TokenSkip extends tf.layers.Layer {
  static className = 'FrugalTokenSkip';
  private ratio: number;
  readonly importance: SkipImportance;
  readonly skipAtInference: boolean;
  private scorer: { norm: tf.layers.Layer; attention: tf.layers.Layer } | undefined;
  private last: { x: tf.Tensor; kept: number; rows: Int32Array } | undefined;

  constructor(args: SkipArgs) {
    super(args);
    this.ratio = checkDropRatio(args.dropRatio);
    this.importance = checkImportance(args.importance ?? 'norm');
    this.skipAtInference = args.skipAtInference ?? true;
    if (typeof this.skipAtInference !== 'boolean')
      throw new Error(`${this.name}: skipAtInference must be true or false`);
  }

  /** The fraction of patch tokens that skip now. */
  get dropRatio(): number {
    return this.ratio;
  }

  /** Changes the drop ratio for the following steps (the model's shapes do not change). */
  setDropRatio(ratio: number): void {
    this.ratio = checkDropRatio(ratio);
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const s = inputShape as tf.Shape;
    if (s[1] == null) throw new Error(`${this.name}: needs a fixed token count`);
    return [s[0], keptTokens(s[1], this.ratio), s[2]];
  }

  /** Tokens (class token included) kept of `tokens` in this call. */
  keptNow(tokens: number, training: boolean): number {
    if (!training && !this.skipAtInference) return tokens;
    return keptTokens(tokens, this.ratio);
  }

  /** The first skipped block's layer-norm and attention layer (this layer's consumers). */
  private attentionScorer() {
    if (this.scorer) return this.scorer;
    for (const norm of consumers(this)) {
      if (!hasWeight(norm, 'gamma')) continue;
      const attention = consumers(norm).find((l) => hasWeight(l, 'query_kernel'));
      if (attention) {
        this.scorer = { norm, attention };
        return this.scorer;
      }
    }
    throw new Error(
      `${this.name}: importance 'attention' needs a layer-norm and then an attention layer after the skip`,
    );
  }

  /** Flat kept rows of x ([batch, tokens, d]) at `kept` tokens a sample. */
  rowsOf(x: tf.Tensor3D, kept: number): Int32Array {
    if (this.last && this.last.x === x && this.last.kept === kept) return this.last.rows;
    let rows: Int32Array;
    if (this.importance === 'attention' && kept < x.shape[1]) {
      const { norm, attention } = this.attentionScorer();
      const scores = tf.tidy(() => classAttention(norm.apply(x) as tf.Tensor3D, attention));
      rows = keptRows(x, kept, scores);
      scores.dispose();
    } else rows = keptRows(x, kept);
    this.last = { x, kept, rows };
    return rows;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: { training?: boolean }): tf.Tensor {
    const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor3D;
    const [b, n, d] = x.shape;
    const kept = this.keptNow(n, kwargs?.training === true);
    if (kept === n) return tf.clone(x);
    const rows = this.rowsOf(x, kept);
    return tf.tidy(() =>
      gatherRows(x.reshape([b * n, d]), tf.tensor1d(rows, 'int32')).reshape([b, kept, d]),
    );
  }

  override getConfig(): tf.serialization.ConfigDict {
    return configWith(super.getConfig(), this, ['dropRatio', 'importance', 'skipAtInference']);
  }
}
tf.serialization.registerClass(TokenSkip);

/**
 * SkipViT rejoin: inputs [x, y] with x the stream before the matching `TokenSkip` and y the kept
 * tokens after the skipped blocks; returns [batch, tokens, d] with the kept tokens from y and the
 * skipped ones copied unchanged from x. No parameters. The kept rows are the TokenSkip's (found
 * in the graph: the layer that also reads x), so the two always agree.
 */
export class TokenRejoin extends tf.layers.Layer {
  static className = 'FrugalTokenRejoin';
  readonly dropRatio: number;
  private source: TokenSkip | undefined;

  constructor(args: SkipArgs) {
    super(args);
    this.dropRatio = checkDropRatio(args.dropRatio);
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    return (inputShape as tf.Shape[])[0];
  }

  /** The TokenSkip that reads this layer's first input. */
  private skipLayer(): TokenSkip {
    if (this.source) return this.source;
    const node = (this as unknown as { inboundNodes: { inputTensors: tf.SymbolicTensor[] }[] })
      .inboundNodes[0];
    const from = node?.inputTensors[0]?.sourceLayer as tf.layers.Layer | undefined;
    const skip = from && consumers(from).find((l) => l instanceof TokenSkip);
    if (!skip) throw new Error(`${this.name}: its first input is not the input of a TokenSkip`);
    this.source = skip as TokenSkip;
    return this.source;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    if (!Array.isArray(inputs) || inputs.length !== 2)
      throw new Error(`${this.name}: takes [stream before the skip, kept tokens after it]`);
    const x = inputs[0] as tf.Tensor3D;
    const y = inputs[1] as tf.Tensor3D;
    const [b, n, d] = x.shape;
    const kept = y.shape[1];
    if (kept > n) throw new Error(`${this.name}: ${kept} kept tokens of ${n}`);
    if (kept === n) return tf.clone(y);
    const rows = this.skipLayer().rowsOf(x, kept);
    // Row r of the output: x's row r, or row (b n + k) of [x; y] when r is the k-th kept row.
    const pick = new Int32Array(b * n);
    for (let r = 0; r < b * n; r++) pick[r] = r;
    rows.forEach((r, k) => {
      pick[r] = b * n + k;
    });
    return tf.tidy(() =>
      gatherRows(
        tf.concat([x.reshape([b * n, d]), y.reshape([b * kept, d])], 0) as tf.Tensor2D,
        tf.tensor1d(pick, 'int32'),
      ).reshape([b, n, d]),
    );
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), dropRatio: this.dropRatio };
  }
}
tf.serialization.registerClass(TokenRejoin);
