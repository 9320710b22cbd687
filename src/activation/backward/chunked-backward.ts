import * as tf from '@tensorflow/tfjs';
import { sliceRows } from '../execution/row-chunks.js';
import { type RowWriter, rowAccumulator, rowWriter } from '../execution/row-writer.js';

/** What one chunk contributes: its rows of the input gradient and its share of the weight grads. */
export interface ChunkGrads {
  dx: tf.Tensor;
  params: tf.Tensor[];
}

/**
 * A running sum of the chunks' weight gradients: `sums` plus `part` element by element (both
 * freed), or `part` itself for the first chunk (`sums` null).
 */
export function addParts(sums: tf.Tensor[] | null, part: tf.Tensor[]): tf.Tensor[] {
  if (sums === null) return part;
  const next = sums.map((s, i) => tf.add(s, part[i]));
  tf.dispose([...sums, ...part]);
  return next;
}

/**
 * Runs a layer's backward over the batch in chunks of `rows` samples: `chunk` gets dy's rows
 * `first` .. `first + count - 1`, rebuilds only those rows of its saved state, and returns the
 * matching rows of dx and its partial weight gradients, which are summed here. No full-precision
 * copy of the saved input (or of dy times a mask) ever exists for the whole batch. The dx rows go
 * straight into one buffer (see rowWriter; no concat holding parts and result together), which is
 * dy's own when `dyOwned` (dy is read by no one else afterwards), the backend allows it and dx has
 * dy's size: the peak is then dy and one chunk's temporaries. Otherwise `freeDy` is called once
 * the last chunk has read dy. With `addTo` (a gradient the caller owns, of dx's size, whose buffer
 * may be written), the rows are added into it instead, and it is returned as dx.
 */
export function chunkedBackward(
  dy: tf.Tensor,
  rows: number,
  chunk: (dyRows: tf.Tensor, first: number, count: number) => ChunkGrads,
  freeDy: () => void,
  dyOwned = false,
  addTo: tf.Tensor | null = null,
): ChunkGrads {
  const n = dy.shape[0];
  if (!Number.isInteger(rows) || rows < 1)
    throw new Error(`chunkedBackward: rows per chunk must be a positive integer, got ${rows}`);
  let writer: RowWriter | null = null;
  let single: tf.Tensor | null = null;
  let sums: tf.Tensor[] | null = null;
  for (let first = 0; first < n; first += rows) {
    const count = Math.min(rows, n - first);
    const dyRows = count === n ? dy : sliceRows(dy, first, count);
    const g = chunk(dyRows, first, count);
    if (dyRows !== dy && dyRows !== g.dx) dyRows.dispose();
    const add = addTo !== null && addTo.size * count === g.dx.size * n ? addTo : null;
    if (count === n && add === null) single = g.dx;
    else {
      writer ??=
        add !== null
          ? rowAccumulator(add)
          : rowWriter([n, ...g.dx.shape.slice(1)], dyOwned ? dy : null);
      writer.write(first, g.dx);
    }
    sums = addParts(sums, g.params);
  }
  const dx = single ?? (writer as RowWriter).finish();
  if (dx.dataId !== dy.dataId) freeDy();
  return { dx, params: sums ?? [] };
}
