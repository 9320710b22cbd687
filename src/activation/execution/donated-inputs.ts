import type * as tf from '@tensorflow/tfjs';
import { scopedMark } from './scoped-mark.js';

/**
 * Inputs the caller of a layer will free right after the layer returns (the streaming forward
 * marks a tensor at its last use). A layer whose output has the input's size and that keeps no
 * reference to the input may write its output into the input's buffer (see overwriteRows): one
 * full-size buffer less at that moment.
 */
const donated = scopedMark();

/** Runs `f` with `inputs` donated. */
export function withDonatedInputs<T>(inputs: tf.Tensor[], f: () => T): T {
  return donated.during(inputs, f);
}

/** Whether the caller frees `t` once the current layer returns. */
export function isDonated(t: tf.Tensor): boolean {
  return donated.has(t);
}
