import type * as tf from '@tensorflow/tfjs';
import { scopedMark } from './scoped-mark.js';

/**
 * Inputs whose gradient no one reads: the chunked forward's slices of the batch, made off the
 * tape (chunked-execution.ts), so whatever gradient a layer returns for them goes nowhere. A layer
 * whose input is one (the model's first) may skip its input gradient and return zeros: the plain
 * tfjs step skips that product too, as the batch is not a variable.
 */
const constant = scopedMark();

/** Runs `f` with `inputs` marked as needing no gradient. */
export function withConstantInputs<T>(inputs: tf.Tensor[], f: () => T): T {
  return constant.during(inputs, f);
}

/** Whether no one reads `t`'s gradient. */
export function isConstantInput(t: tf.Tensor): boolean {
  return constant.has(t);
}
