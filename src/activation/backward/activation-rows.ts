import type * as tf from '@tensorflow/tfjs';
import type { ActivationBackward } from '../codec/activation-save.js';
import { restoreRowsOf, type Saved } from '../codec/saved.js';
import { rowsPerChunk } from '../execution/row-chunks.js';
import { chunkedBackward } from './chunked-backward.js';

/**
 * dy through a saved activation's backward (a ReLU's mask, few-bit codes, a quantized input) a
 * chunk of rows at a time: the state is expanded for those rows only, and dx goes into dy's buffer
 * where it may, or is added into `addTo` (see chunkedBackward).
 */
export function activationRows(
  act: Saved<ActivationBackward>,
  saved: tf.Tensor[],
  dy: tf.Tensor,
  freeDy: () => void,
  dyOwned: boolean,
  addTo: tf.Tensor | null = null,
): tf.Tensor {
  const n = dy.shape[0];
  return chunkedBackward(
    dy,
    rowsPerChunk(n, (4 * dy.size) / n),
    (d, first, count) => ({ dx: restoreRowsOf(act, saved, first, count)(d), params: [] }),
    freeDy,
    dyOwned,
    addTo,
  ).dx;
}
