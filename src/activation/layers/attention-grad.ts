import * as tf from '@tensorflow/tfjs';
import { type ChunkGrads, chunkedBackward } from '../backward/chunked-backward.js';
import { rowsPerChunk } from '../execution/row-chunks.js';

/** What the attention backward needs: its saved values, each rebuilt a range of samples at a time. */
export interface AttentionSaved {
  /** Rows `first` .. `first + count - 1` of x [b, l, d], q, k, v [b, h, l, dh], p [b, h, l, l], a [b, l, d]. */
  rows(name: 'x' | 'q' | 'k' | 'v' | 'p' | 'a', first: number, count: number): tf.Tensor;
}

/** A reshape that frees the tensor it came from (the data stays with the new view). */
function reshaped(t: tf.Tensor, shape: number[]): tf.Tensor {
  const r = t.reshape(shape);
  t.dispose();
  return r;
}

/**
 * Gradients of multi-head self-attention (input, then query/key/value/output kernels and biases)
 * from its saved values, in chunks of samples: each chunk rebuilds only its rows, and every
 * temporary is freed as soon as the next step no longer needs it, so the peak is dy, dx so far and
 * one chunk's few live tensors, not the whole batch's ~20 intermediates.
 */
export function attentionGrads(
  dy: tf.Tensor,
  saved: AttentionSaved,
  w: tf.Tensor2D[],
  numHeads: number,
  freeDy: () => void,
): tf.Tensor[] {
  const [n, l, d] = dy.shape;
  const h = numHeads;
  const dh = d / h;
  const rows = rowsPerChunk(n, 4 * Math.max(l * d, h * l * l));
  const g = chunkedBackward(
    dy,
    rows,
    (dyRows, first, count): ChunkGrads => {
      const bl = count * l;
      const heads = (t: tf.Tensor) =>
        tf.tidy(() => t.reshape([count, l, h, dh]).transpose([0, 2, 1, 3]));
      const merge = (t: tf.Tensor) =>
        tf.tidy(() => t.transpose([0, 2, 1, 3]).reshape([bl, d]) as tf.Tensor2D);
      const get = (name: Parameters<AttentionSaved['rows']>[0]) => saved.rows(name, first, count);
      const dOut = dyRows.reshape([bl, d]) as tf.Tensor2D;
      // Output projection.
      const a = reshaped(get('a'), [bl, d]) as tf.Tensor2D;
      const dWo = tf.matMul(a, dOut, true);
      a.dispose();
      const dbo = tf.sum(dOut, 0);
      const da = tf.tidy(() => heads(tf.matMul(dOut, w[3], false, true)));
      dOut.dispose();
      // Attention matmul p v.
      const v = get('v');
      const dp = tf.matMul(da, v, false, true);
      v.dispose();
      const p = get('p');
      const dv = tf.matMul(p, da, true);
      da.dispose();
      // Softmax backward; the centring term divides by the row sum of the restored p so each row
      // of ds sums to 0 exactly, as with exact p (else the key bias drifts).
      const ds = tf.tidy(() => {
        const centre = tf.div(tf.sum(tf.mul(dp, p), -1, true), tf.sum(p, -1, true));
        return tf.mul(tf.mul(p, tf.sub(dp, centre)), 1 / Math.sqrt(dh));
      });
      tf.dispose([p, dp]);
      // Scores q k^T.
      const k = get('k');
      const dq = tf.matMul(ds, k);
      k.dispose();
      const q = get('q');
      const dk = tf.matMul(ds, q, true);
      tf.dispose([q, ds]);
      // Input projections.
      const x = reshaped(get('x'), [bl, d]) as tf.Tensor2D;
      const params: tf.Tensor[] = [];
      let dx: tf.Tensor | null = null;
      for (const [i, gh] of [dq, dk, dv].entries()) {
        const g2 = merge(gh);
        gh.dispose();
        params.push(tf.matMul(x, g2, true), tf.sum(g2, 0));
        const part = tf.matMul(g2, w[i], false, true);
        g2.dispose();
        const sum: tf.Tensor = dx === null ? part : tf.add(dx, part);
        if (dx !== null) tf.dispose([dx, part]);
        dx = sum;
      }
      x.dispose();
      params.push(dWo, dbo);
      return { dx: reshaped(dx as tf.Tensor, [count, l, d]), params };
    },
    freeDy,
  );
  return [g.dx, ...g.params];
}
