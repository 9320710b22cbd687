import * as tf from '@tensorflow/tfjs';
import { backwardChunkBytes } from '../../engine/settings.js';
import { heapView, withValues } from '../codec/js-memory.js';

/**
 * Samples per chunk so that a chunk of a tensor with `bytesPerRow` per sample fits the backward
 * chunk bytes (a process-wide setting: `setBackwardChunkBytes` in engine/settings.ts).
 */
export function rowsPerChunk(batch: number, bytesPerRow: number): number {
  const bytes = backwardChunkBytes();
  return Math.max(1, Math.min(batch, Math.floor(bytes / Math.max(1, bytesPerRow))));
}

/** Rows `first` .. `first + count - 1` of `t` along its leading axis (a new tensor). */
export function sliceRows(t: tf.Tensor, first: number, count: number): tf.Tensor {
  if (first === 0 && count === t.shape[0]) return t.clone();
  const begin = t.shape.map((_, i) => (i === 0 ? first : 0));
  const size = t.shape.map((d, i) => (i === 0 ? count : d));
  return tf.slice(t, begin, size);
}

/**
 * Reads `t`'s values a chunk of samples at a time (all at once for rank < 2 or when they fit one
 * chunk), so the JS copy that backends other than cpu make never holds the whole tensor. On wasm
 * each chunk is a view of the backend's memory (no slice, no copy); `f` must not run tfjs ops.
 */
export function forEachRowChunk(
  t: tf.Tensor,
  f: (values: tf.TypedArray, first: number, count: number) => void,
): void {
  const n = t.rank > 1 ? t.shape[0] : 1;
  const rows = rowsPerChunk(n, (t.size / n) * 4);
  if (heapView(t) !== null) {
    const perRow = t.size / n;
    for (let first = 0; first < n; first += rows) {
      const count = Math.min(rows, n - first);
      // Fetched again per chunk: f may not grow tfjs's memory, but a view is cheap.
      const view = heapView(t) as tf.TypedArray;
      f(view.subarray(first * perRow, (first + count) * perRow), first, count);
    }
    return;
  }
  if (rows >= n) {
    withValues(t, (v) => f(v, 0, n));
    return;
  }
  for (let first = 0; first < n; first += rows) {
    const count = Math.min(rows, n - first);
    const part = sliceRows(t, first, count);
    try {
      withValues(part, (v) => f(v, first, count));
    } finally {
      part.dispose();
    }
  }
}
