import * as tf from '@tensorflow/tfjs';
import { heapView } from '../codec/js-memory.js';
import { restoreRowsOf, type Saved } from '../codec/saved.js';
import { rowsPerChunk, sliceRows } from '../execution/row-chunks.js';

/**
 * Batch mean and variance over all but the last axis of a value of `n` rows that is never made in
 * full: `rowsOf(first, count)` makes its rows (a new tensor, freed here), `rows` at a time, and
 * the chunks' moments are combined (Chan et al.). Equal to the two-pass moments up to rounding.
 */
export function rowMoments(
  n: number,
  rows: number,
  rowsOf: (first: number, count: number) => tf.Tensor,
): { mean: tf.Tensor1D; variance: tf.Tensor1D } {
  let count = 0;
  let mean: tf.Tensor | null = null;
  let m2: tf.Tensor | null = null;
  for (let first = 0; first < n; first += rows) {
    const pr = rowsOf(first, Math.min(rows, n - first));
    const axes = pr.shape.map((_, i) => i).slice(0, -1);
    const c = pr.size / pr.shape[pr.rank - 1];
    const next = tf.tidy(() => {
      const mc = tf.mean(pr, axes);
      const sq = tf.sum(tf.square(tf.sub(pr, mc)), axes);
      if (mean === null || m2 === null) return [mc, sq];
      // Chan et al.: the moments of two parts combined.
      const total = count + c;
      const delta = tf.sub(mc, mean);
      return [
        tf.add(mean, tf.mul(delta, c / total)),
        tf.add(tf.add(m2, sq), tf.mul(tf.square(delta), (count * c) / total)),
      ];
    });
    pr.dispose();
    tf.dispose([mean, m2].filter((t): t is tf.Tensor => t !== null));
    [mean, m2] = next;
    count += c;
  }
  const variance = tf.div(m2 as unknown as tf.Tensor, count) as tf.Tensor1D;
  (m2 as unknown as tf.Tensor).dispose();
  return { mean: mean as unknown as tf.Tensor1D, variance };
}

/**
 * Rows of a batch norm's xhat = (x - mean) * invStd rebuilt from the saved input `p` (a new
 * tensor for samples first .. first + count - 1; the restored rows are freed).
 */
export function xhatRows(
  p: Saved<tf.Tensor>,
  saved: tf.Tensor[],
  mean: tf.Tensor,
  invStd: tf.Tensor,
): (first: number, count: number) => tf.Tensor {
  return (first, count) => {
    const r = restoreRowsOf(p, saved, first, count);
    const xh = tf.tidy(() => tf.mul(tf.sub(r, mean), invStd));
    r.dispose();
    return xh;
  };
}

/**
 * A batch norm's dx = invStd * gamma * (dy - mean(dy) - xhat * mean(dy * xhat)) for rows, from
 * its reductions over a batch of `size` values.
 */
export function normGrad(
  sums: { dgamma: tf.Tensor; dbeta: tf.Tensor },
  invStd: tf.Tensor,
  gamma: tf.Tensor,
  size: number,
): ((dy: tf.Tensor, xhat: tf.Tensor) => tf.Tensor) & { dispose: () => void } {
  const m = size / gamma.size;
  const k = tf.mul(invStd, gamma);
  const meanDy = tf.div(sums.dbeta, m);
  const meanDyXh = tf.div(sums.dgamma, m);
  const f = (dy: tf.Tensor, xh: tf.Tensor) =>
    tf.tidy(() => tf.mul(k, tf.sub(tf.sub(dy, meanDy), tf.mul(xh, meanDyXh))));
  return Object.assign(f, { dispose: () => tf.dispose([k, meanDy, meanDyXh]) });
}

/** A batch norm backward's reductions sum(dy * xhat) (dgamma) and sum(dy) (dbeta), by chunks. */
export function normSums(
  dy: tf.Tensor,
  xhatRows: (first: number, count: number) => tf.Tensor,
  gamma: tf.Tensor,
): { dgamma: tf.Tensor; dbeta: tf.Tensor } {
  const n = dy.shape[0];
  const axes = dy.shape.map((_, i) => i).slice(0, -1);
  const rows = rowsPerChunk(n, (16 * dy.size) / n);
  let dgamma: tf.Tensor = tf.zerosLike(gamma);
  let dbeta: tf.Tensor = tf.zerosLike(gamma);
  for (let first = 0; first < n; first += rows) {
    const count = Math.min(rows, n - first);
    const d = count === n ? dy : sliceRows(dy, first, count);
    const xh = xhatRows(first, count);
    const next = tf.tidy(() => [
      tf.add(dgamma, tf.sum(tf.mul(d, xh), axes)),
      tf.add(dbeta, tf.sum(d, axes)),
    ]);
    xh.dispose();
    if (d !== dy) d.dispose();
    tf.dispose([dgamma, dbeta]);
    [dgamma, dbeta] = next;
  }
  return { dgamma, dbeta };
}

/**
 * Batch mean and variance over all but the last axis of `t`. On wasm two passes over the values
 * where they live (float64 sums per channel: the mean, then the squared deviations), with no
 * tensor temporaries and two kernel launches instead of several per chunk; elsewhere
 * `rowMoments` of its row chunks.
 */
export function tensorMoments(
  t: tf.Tensor,
  rows: number,
): { mean: tf.Tensor1D; variance: tf.Tensor1D } {
  const c = t.shape[t.rank - 1];
  const values = heapView(t);
  if (values === null || t.dtype !== 'float32')
    return rowMoments(t.shape[0], rows, (first, count) => sliceRows(t, first, count));
  const count = values.length / c;
  const mean = new Float64Array(c);
  for (let i = 0; i < values.length; i += c) for (let k = 0; k < c; k++) mean[k] += values[i + k];
  for (let k = 0; k < c; k++) mean[k] /= count;
  const sq = new Float64Array(c);
  for (let i = 0; i < values.length; i += c)
    for (let k = 0; k < c; k++) {
      const d = values[i + k] - mean[k];
      sq[k] += d * d;
    }
  for (let k = 0; k < c; k++) sq[k] /= count;
  return {
    mean: tf.tensor1d(Float32Array.from(mean)),
    variance: tf.tensor1d(Float32Array.from(sq)),
  };
}
