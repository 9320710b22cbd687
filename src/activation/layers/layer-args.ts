import type * as tf from '@tensorflow/tfjs';

// Checks of the arguments and input shapes the compressed layers share.

/** `value` of the argument `field` of `layer`, checked to be a positive integer. */
export function positiveInteger(layer: string, field: string, value: number): number {
  if (!Number.isInteger(value) || value < 1)
    throw new Error(`${layer}: ${field} must be a positive integer, got ${value}`);
  return value;
}

/** The last dimension of a layer's input shape; refuses an unknown one (`what` names it). */
export function lastDimension(
  layer: string,
  inputShape: tf.Shape | tf.Shape[],
  what = 'the last input dimension',
): number {
  const shape = inputShape as tf.Shape;
  const d = shape[shape.length - 1];
  if (d == null) throw new Error(`${layer}: ${what} must be known`);
  return d;
}
