import * as tf from '@tensorflow/tfjs';
import { splitHeads } from '../layers/attention-parts.js';

/** The attention layer's weight whose name ends with `/suffix`. */
function weight(layer: tf.layers.Layer, suffix: string): tf.Tensor {
  const w = layer.weights.find((v) => v.originalName.endsWith(`/${suffix}`));
  if (!w) throw new Error(`${layer.name}: has no ${suffix} weight`);
  return w.read();
}

/**
 * The class token's attention over the tokens of x ([batch, tokens, d], already layer-normalised
 * as the attention layer sees it), as `attention` (MultiHeadSelfAttention, GqkvaAttention or a
 * compressed twin: query/key kernels and biases, `numHeads`, optional `queryGroups`/`kvGroups`)
 * computes it: softmax(q_cls k^T / sqrt(d_h)) per head, averaged over the heads. Returns
 * [batch, tokens]; each row sums to 1.
 */
export function classAttention(x: tf.Tensor3D, attention: tf.layers.Layer): tf.Tensor2D {
  const c = attention.getConfig();
  const h = c.numHeads as number;
  const gq = (c.queryGroups as number | undefined) ?? h;
  const gkv = (c.kvGroups as number | undefined) ?? h;
  return tf.tidy(() => {
    const [b, n, d] = x.shape;
    const dh = d / h;
    const cls = x.slice([0, 0, 0], [b, 1, d]).reshape([b, d]);
    const q = tf
      .add(
        tf.matMul(cls, weight(attention, 'query_kernel') as tf.Tensor2D),
        weight(attention, 'query_bias'),
      )
      .reshape([b, gq, 1, dh]);
    const k = splitHeads(
      tf.add(
        tf.matMul(x.reshape([b * n, d]), weight(attention, 'key_kernel') as tf.Tensor2D),
        weight(attention, 'key_bias'),
      ),
      b,
      n,
      gkv,
      dh,
    ); // [b, g_kv, n, dh]
    // Head i: query group i mod g_q, key group floor(i g_kv / h) (as groupedAttention).
    let sum: tf.Tensor | undefined;
    for (let i = 0; i < h; i++) {
      const qi = q.slice([0, i % gq, 0, 0], [b, 1, 1, dh]);
      const ki = k.slice([0, Math.floor((i * gkv) / h), 0, 0], [b, 1, n, dh]);
      const p = tf.softmax(tf.mul(tf.matMul(qi, ki, false, true), 1 / Math.sqrt(dh)));
      sum = sum ? tf.add(sum, p) : p;
    }
    return tf.div(sum as tf.Tensor, h).reshape([b, n]) as tf.Tensor2D;
  });
}
