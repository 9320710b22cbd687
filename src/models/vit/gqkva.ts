import * as tf from '@tensorflow/tfjs';
import {
  type GroupedAttentionArgs,
  GroupedAttentionLayer,
} from '../layers/grouped-attention-layer.js';

export interface GqkvaArgs extends GroupedAttentionArgs {
  /** Attention heads h; each has width dModel / h. */
  numHeads: number;
  /** Query projections g_q (h must be a multiple; default h). */
  queryGroups?: number;
  /** Key/value projections g_kv (h must be a multiple; default h). */
  kvGroups?: number;
}

/** Checks a (heads, g_q, g_kv) triple; throws with a message naming the problem. */
export function checkGroups(h: number, gq: number, gkv: number): void {
  for (const [k, v] of [
    ['numHeads', h],
    ['queryGroups', gq],
    ['kvGroups', gkv],
  ] as const) {
    if (!Number.isInteger(v) || v < 1)
      throw new Error(`GQKVA: ${k} must be a positive integer, got ${v}`);
  }
  if (h % gq !== 0) throw new Error(`GQKVA: numHeads ${h} is not divisible by queryGroups ${gq}`);
  if (h % gkv !== 0) throw new Error(`GQKVA: numHeads ${h} is not divisible by kvGroups ${gkv}`);
  if (h > gq * gkv) {
    throw new Error(
      `GQKVA: numHeads ${h} exceeds queryGroups x kvGroups = ${gq * gkv} (some heads would repeat a query/key pair)`,
    );
  }
}

/**
 * Which projections head i uses: key/value group floor(i g_kv / h) (contiguous blocks, as GQA)
 * and query group i mod g_q. MHA: g_q = g_kv = h; MQA: g_kv = 1; GQA: g_q = h, 1 < g_kv < h;
 * MKVA: g_q = 1, g_kv = h; GQKVA (all pairs): h = g_q g_kv.
 */
export function headGroups(h: number, gq: number, gkv: number): { q: number[]; kv: number[] } {
  checkGroups(h, gq, gkv);
  const q: number[] = [];
  const kv: number[] = [];
  for (let i = 0; i < h; i++) {
    q.push(i % gq);
    kv.push(Math.floor((i * gkv) / h));
  }
  return { q, kv };
}

/** Parameters of the four projections (weights and biases) of a GQKVA layer of width d. */
export function gqkvaParams(d: number, h: number, gq: number, gkv: number): number {
  checkGroups(h, gq, gkv);
  const dh = d / h;
  return (d + 1) * dh * (gq + 2 * gkv) + (d + 1) * d;
}

/**
 * Grouped query/key/value self-attention (GQKVA, Javadi et al. 2023) over
 * [batch, length, dModel]: g_q query projections and g_kv key/value projections of width
 * d_h = dModel / h, combined into h heads (see `headGroups`), concatenated and projected back
 * with a [dModel, dModel] output kernel. Projection parameters d d_h (g_q + 2 g_kv) + d^2 (plus
 * biases). Weights in MultiHeadSelfAttention's order (query, key, value, output; kernel, bias),
 * so a multi-head layer's weights load when g_q = g_kv = h.
 */
export class GqkvaAttention extends GroupedAttentionLayer {
  static className = 'FrugalGqkvaAttention';
  readonly queryGroups: number;
  readonly kvGroups: number;

  constructor(args: GqkvaArgs) {
    super(args);
    this.queryGroups = args.queryGroups ?? args.numHeads;
    this.kvGroups = args.kvGroups ?? args.numHeads;
    checkGroups(this.numHeads, this.queryGroups, this.kvGroups);
  }

  protected override groups(): { queryGroups: number; kvGroups: number } {
    return { queryGroups: this.queryGroups, kvGroups: this.kvGroups };
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), queryGroups: this.queryGroups, kvGroups: this.kvGroups };
  }
}
tf.serialization.registerClass(GqkvaAttention);

/**
 * Head pooling: the weights of a GQKVA layer (h heads, g_q, g_kv) from those of a trained
 * multi-head layer with the same h (MultiHeadSelfAttention or GqkvaAttention with g_q = g_kv = h).
 * Each query (key, value) group's projection is the mean of the projections of the heads that
 * share it; the output projection is kept. With g_q = g_kv = h the weights are unchanged.
 * Returns new tensors (the caller owns them).
 */
export function poolHeadWeights(
  weights: tf.Tensor[],
  h: number,
  gq: number,
  gkv: number,
): tf.Tensor[] {
  if (weights.length !== 8) {
    throw new Error(
      `poolHeadWeights: expected 8 multi-head weights (q, k, v, output kernels and biases), got ${weights.length}`,
    );
  }
  const { q, kv } = headGroups(h, gq, gkv);
  const d = weights[0].shape[0];
  if (weights[0].shape[1] !== d)
    throw new Error(
      `poolHeadWeights: the query kernel [${weights[0].shape}] is not a multi-head one`,
    );
  const dh = d / h;
  const pool = (w: tf.Tensor, of: number[], g: number) =>
    tf.tidy(() => {
      const lead = w.rank === 2 ? [w.shape[0]] : [];
      const heads = w.reshape([...lead, h, dh]);
      const axis = lead.length;
      const parts: tf.Tensor[] = [];
      for (let a = 0; a < g; a++) {
        const members = of.flatMap((grp, i) => (grp === a ? [i] : []));
        parts.push(tf.gather(heads, tf.tensor1d(members, 'int32'), axis).mean(axis));
      }
      return tf.stack(parts, axis).reshape([...lead, g * dh]);
    });
  return [
    pool(weights[0], q, gq),
    pool(weights[1], q, gq),
    pool(weights[2], kv, gkv),
    pool(weights[3], kv, gkv),
    pool(weights[4], kv, gkv),
    pool(weights[5], kv, gkv),
    weights[6].clone(),
    weights[7].clone(),
  ];
}

type Dict = tf.serialization.ConfigDict;

/**
 * A copy of `model` whose multi-head attention layers (MultiHeadSelfAttention, or GqkvaAttention
 * with g_q = g_kv = h) are GQKVA layers with the given groups, initialised by head pooling
 * (`poolHeadWeights`); every other layer keeps its weights. Fine-tune the result to recover
 * accuracy. Throws when the model has no multi-head layer or the groups do not divide a layer's
 * heads.
 */
export async function convertToGqkva(
  model: tf.LayersModel,
  groups: { queryGroups: number; kvGroups: number },
): Promise<{ model: tf.LayersModel; converted: string[] }> {
  const json = model.toJSON(null, false) as Dict;
  const layers = (json.config as Dict).layers as Dict[];
  const converted: string[] = [];
  for (const entry of layers) {
    const cls = entry.class_name as string;
    const name = (entry.config as Dict).name as string;
    const c = model.getLayer(name).getConfig();
    const isMha =
      cls === 'FrugalMultiHeadSelfAttention' ||
      (cls === 'FrugalGqkvaAttention' && c.queryGroups === c.numHeads && c.kvGroups === c.numHeads);
    if (!isMha) continue;
    checkGroups(c.numHeads as number, groups.queryGroups, groups.kvGroups);
    entry.class_name = 'FrugalGqkvaAttention';
    entry.config = {
      ...(entry.config as Dict),
      query_groups: groups.queryGroups,
      kv_groups: groups.kvGroups,
    };
    converted.push(name);
  }
  if (converted.length === 0)
    throw new Error('convertToGqkva: the model has no multi-head attention layer to convert');
  const out = await tf.models.modelFromJSON({ modelTopology: json } as tf.io.ModelJSON);
  for (const layer of model.layers) {
    const w = layer.getWeights();
    if (w.length === 0) continue;
    if (converted.includes(layer.name)) {
      const h = (layer.getConfig() as Dict).numHeads as number;
      const pooled = poolHeadWeights(w, h, groups.queryGroups, groups.kvGroups);
      out.getLayer(layer.name).setWeights(pooled);
      tf.dispose(pooled);
    } else out.getLayer(layer.name).setWeights(w);
  }
  return { model: out, converted };
}
