import * as tf from '@tensorflow/tfjs';
import { sliceRows } from './row-chunks.js';

/** What one chunk contributes: its rows of the input gradient and its share of the weight grads. */
export interface ChunkGrads {
  dx: tf.Tensor;
  params: tf.Tensor[];
}

/**
 * Runs a layer's backward over the batch in chunks of `rows` samples: `chunk` gets dy's rows
 * `first` .. `first + count - 1`, rebuilds only those rows of its saved state, and returns the
 * matching rows of dx and its partial weight gradients, which are summed here. No full-precision
 * copy of the saved input (or of dy times a mask) ever exists for the whole batch: the peak is dy,
 * the dx built so far and one chunk's temporaries. `freeDy` is called once the last chunk has
 * read dy, before the dx rows are joined.
 */
export function chunkedBackward(
  dy: tf.Tensor,
  rows: number,
  chunk: (dyRows: tf.Tensor, first: number, count: number) => ChunkGrads,
  freeDy: () => void,
): ChunkGrads {
  const n = dy.shape[0];
  if (!Number.isInteger(rows) || rows < 1)
    throw new Error(`chunkedBackward: rows per chunk must be a positive integer, got ${rows}`);
  const parts: tf.Tensor[] = [];
  let sums: tf.Tensor[] | null = null;
  for (let first = 0; first < n; first += rows) {
    const count = Math.min(rows, n - first);
    const dyRows = count === n ? dy : sliceRows(dy, first, count);
    const g = chunk(dyRows, first, count);
    if (dyRows !== dy && dyRows !== g.dx) dyRows.dispose();
    parts.push(g.dx);
    if (sums === null) sums = g.params;
    else {
      const prev: tf.Tensor[] = sums;
      sums = prev.map((s, i) => tf.add(s, g.params[i]));
      tf.dispose([...prev, ...g.params]);
    }
  }
  freeDy();
  if (parts.length === 1) return { dx: parts[0], params: sums ?? [] };
  const dx = tf.concat(parts, 0);
  tf.dispose(parts);
  return { dx, params: sums ?? [] };
}
