import * as tf from '@tensorflow/tfjs';
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
 * `kept - 1` patch tokens of highest importance, in their original order. Ties go to the earlier
 * token.
 */
export function keptRows(x: tf.Tensor3D, kept: number): Int32Array {
  const [b, n] = x.shape;
  const rows = new Int32Array(b * kept);
  if (kept === n) {
    for (let i = 0; i < b * n; i++) rows[i] = i;
    return rows;
  }
  const s = tf.tidy(() => classAttentionScores(x));
  const scores = s.dataSync();
  s.dispose();
  const order = new Array<number>(n - 1);
  for (let i = 0; i < b; i++) {
    for (let j = 0; j < n - 1; j++) order[j] = j + 1;
    const base = i * n;
    order.sort((p, q) => scores[base + q] - scores[base + p] || p - q);
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
  name?: string;
  trainable?: boolean;
}

/**
 * SkipViT split: [batch, tokens, d] -> [batch, kept, d], the class token and the most important
 * patch tokens (class-token attention, see `classAttentionScores`) in order. The skipped tokens
 * take no part in the blocks that follow until `TokenRejoin`, which reads them from this layer's
 * input. No parameters. At drop ratio 0 it passes every token through.
 */
export class TokenSkip extends tf.layers.Layer {
  static className = 'FrugalTokenSkip';
  readonly dropRatio: number;

  constructor(args: SkipArgs) {
    super(args);
    this.dropRatio = checkDropRatio(args.dropRatio);
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const s = inputShape as tf.Shape;
    if (s[1] == null) throw new Error(`${this.name}: needs a fixed token count`);
    return [s[0], keptTokens(s[1], this.dropRatio), s[2]];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor3D;
    const [b, n, d] = x.shape;
    const kept = keptTokens(n, this.dropRatio);
    if (kept === n) return tf.clone(x);
    const rows = keptRows(x, kept);
    return tf.tidy(() =>
      gatherRows(x.reshape([b * n, d]), tf.tensor1d(rows, 'int32')).reshape([b, kept, d]),
    );
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), dropRatio: this.dropRatio };
  }
}
tf.serialization.registerClass(TokenSkip);

/**
 * SkipViT rejoin: inputs [x, y] with x the stream before the matching `TokenSkip` (same drop
 * ratio) and y the kept tokens after the skipped blocks; returns [batch, tokens, d] with the kept
 * tokens from y and the skipped ones copied unchanged from x. No parameters.
 */
export class TokenRejoin extends tf.layers.Layer {
  static className = 'FrugalTokenRejoin';
  readonly dropRatio: number;

  constructor(args: SkipArgs) {
    super(args);
    this.dropRatio = checkDropRatio(args.dropRatio);
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    return (inputShape as tf.Shape[])[0];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    if (!Array.isArray(inputs) || inputs.length !== 2)
      throw new Error(`${this.name}: takes [stream before the skip, kept tokens after it]`);
    const x = inputs[0] as tf.Tensor3D;
    const y = inputs[1] as tf.Tensor3D;
    const [b, n, d] = x.shape;
    const kept = keptTokens(n, this.dropRatio);
    if (y.shape[1] !== kept)
      throw new Error(`${this.name}: expected ${kept} kept tokens, got ${y.shape[1]}`);
    if (kept === n) return tf.clone(y);
    const rows = keptRows(x, kept);
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
