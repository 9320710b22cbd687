// The parts the attention layers share (MultiHeadSelfAttention, its compressed twin and
// GqkvaAttention): the width check, the four projections' weights, head split/merge and the
// causal mask. Each layer keeps its own forward; these are the pieces that must agree between them.
import * as tf from '@tensorflow/tfjs';

/** The model width of an attention layer's input shape; refuses one not divisible by the heads. */
export function attentionWidth(layer: string, inputShape: tf.Shape, numHeads: number): number {
  const d = inputShape[inputShape.length - 1];
  if (d == null || d % numHeads !== 0)
    throw new Error(`${layer}: model width ${d} is not divisible by numHeads ${numHeads}`);
  return d;
}

/** Adds one weight (a layer's protected addWeight, bound). */
export type AddWeight = (
  name: string,
  shape: number[],
  initializer: ReturnType<typeof tf.initializers.zeros>,
) => tf.LayerVariable;

/**
 * The query, key, value and output projections: kernel i [d, widths[i]] (Glorot-uniform, seed
 * `seed + i`) and bias i [widths[i]] (zeros), added in that order, so layers with equal widths
 * load one another's weights.
 */
export function addProjections(
  add: AddWeight,
  d: number,
  widths: readonly number[],
  seed: number | undefined,
): { kernels: tf.LayerVariable[]; biases: tf.LayerVariable[] } {
  const kernels: tf.LayerVariable[] = [];
  const biases: tf.LayerVariable[] = [];
  ['query', 'key', 'value', 'output'].forEach((n, i) => {
    const s = seed === undefined ? undefined : seed + i;
    kernels.push(add(`${n}_kernel`, [d, widths[i]], tf.initializers.glorotUniform({ seed: s })));
    biases.push(add(`${n}_bias`, [widths[i]], tf.initializers.zeros()));
  });
  return { kernels, biases };
}

/**
 * The four projections of a self-attention layer `layer` of `numHeads` heads over `inputShape`,
 * with `queryGroups` query and `kvGroups` key/value projections of the head width (all equal to
 * `numHeads`: multi-head attention, every projection [d, d]).
 */
export function addAttentionProjections(
  add: AddWeight,
  layer: string,
  inputShape: tf.Shape | tf.Shape[],
  heads: { numHeads: number; queryGroups: number; kvGroups: number },
  seed: number | undefined,
): { kernels: tf.LayerVariable[]; biases: tf.LayerVariable[] } {
  const d = attentionWidth(layer, inputShape as tf.Shape, heads.numHeads);
  const dh = d / heads.numHeads;
  const widths = [heads.queryGroups * dh, heads.kvGroups * dh, heads.kvGroups * dh, d];
  return addProjections(add, d, widths, seed);
}

/**
 * The four projections of a self-attention layer (`addAttentionProjections`): its variables once
 * built, and their values in a call (query, key, value, output).
 */
export class AttentionProjections {
  private kernels: tf.LayerVariable[] = [];
  private biases: tf.LayerVariable[] = [];

  /** Adds the projections of `layer` over `inputShape` through `add` (its addWeight). */
  build(
    add: AddWeight,
    layer: string,
    inputShape: tf.Shape | tf.Shape[],
    heads: { numHeads: number; queryGroups: number; kvGroups: number },
    seed: number | undefined,
  ): void {
    ({ kernels: this.kernels, biases: this.biases } = addAttentionProjections(
      add,
      layer,
      inputShape,
      heads,
      seed,
    ));
  }

  /** The kernels [d, width] and the biases, read. */
  read(): { w: tf.Tensor2D[]; bias: tf.Tensor[] } {
    return {
      w: this.kernels.map((k) => k.read() as tf.Tensor2D),
      bias: this.biases.map((v) => v.read()),
    };
  }
}

/**
 * The learned position table [length, width] of a position embedding `layer` over inputs
 * [batch, length, width] (both fixed), initialised N(0, 0.02) with `seed`.
 */
export function addPositionTable(
  add: AddWeight,
  layer: string,
  inputShape: tf.Shape | tf.Shape[],
  seed: number | undefined,
): tf.LayerVariable {
  const shape = inputShape as tf.Shape;
  const [l, d] = [shape[1], shape[2]];
  if (l == null || d == null) throw new Error(`${layer}: needs a fixed sequence length and width`);
  return add('embedding', [l, d], tf.initializers.randomNormal({ mean: 0, stddev: 0.02, seed }));
}

/** [b * l, g * dh] (or [b, l, g * dh]) to [b, g, l, dh]. */
export function splitHeads(t: tf.Tensor, b: number, l: number, g: number, dh: number): tf.Tensor4D {
  return t.reshape([b, l, g, dh]).transpose([0, 2, 1, 3]) as tf.Tensor4D;
}

/** [b, h, l, dh] to [b * l, h * dh]. */
export function mergeHeads(t: tf.Tensor, b: number, l: number): tf.Tensor2D {
  const [, h, , dh] = t.shape;
  return t.transpose([0, 2, 1, 3]).reshape([b * l, h * dh]) as tf.Tensor2D;
}

/**
 * The additive causal mask: 0 where key j <= query i, -1e9 above the diagonal; [l, l], or
 * [repeat * l, l] for `repeat` query blocks stacked along the query axis.
 */
export function causalMask(l: number, repeat = 1): tf.Tensor2D {
  return tf.tidy(() => {
    const lower = tf.linalg.bandPart(tf.ones([l, l]), -1, 0);
    const mask = tf.mul(tf.sub(1, lower), -1e9) as tf.Tensor2D;
    return repeat === 1 ? mask : (tf.tile(mask, [repeat, 1]) as tf.Tensor2D);
  });
}

/**
 * Self-attention with h heads over g_q query and g_kv key/value projections (GQKVA; multi-head
 * when g_q = g_kv = h): x [b, l, d], kernels/biases in query, key, value, output order. Head i
 * uses query group i mod g_q and key/value group floor(i / (h / g_kv)).
 */
export function groupedAttention(
  x: tf.Tensor3D,
  kernels: tf.Tensor2D[],
  biases: tf.Tensor[],
  h: number,
  gq: number,
  gkv: number,
  causal: boolean,
): tf.Tensor3D {
  return tf.tidy(() => {
    const [b, l, d] = x.shape;
    const dh = d / h;
    const per = h / gkv; // heads per key/value group
    const flat = x.reshape([b * l, d]);
    const project = (i: number) => tf.add(tf.matMul(flat, kernels[i]), biases[i]);
    let q: tf.Tensor = splitHeads(project(0), b, l, gq, dh); // [b, g_q, l, dh]
    if (gq !== h) q = tf.tile(q, [1, h / gq, 1, 1]); // head i uses query group i mod g_q
    // Heads of one kv group side by side along the query axis: [b, g_kv, per * l, dh].
    const qg = q.reshape([b, gkv, per * l, dh]);
    const k = splitHeads(project(1), b, l, gkv, dh);
    const v = splitHeads(project(2), b, l, gkv, dh);
    let scores = tf.mul(tf.matMul(qg, k, false, true), 1 / Math.sqrt(dh));
    if (causal) scores = tf.add(scores, causalMask(l, per));
    // [b, g_kv, per * l, dh] holds the h heads in order.
    const attended = mergeHeads(tf.matMul(tf.softmax(scores), v).reshape([b, h, l, dh]), b, l);
    return tf.add(tf.matMul(attended, kernels[3]), biases[3]).reshape([b, l, d]) as tf.Tensor3D;
  });
}
