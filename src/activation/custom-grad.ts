import * as tf from '@tensorflow/tfjs';

export interface CompressedOp {
  value: tf.Tensor;
  /** Gradients for each input, in order; `dy` may be disposed by the caller after use. */
  gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor[];
}

/**
 * Runs `body` as one `tf.customGrad` op over `inputs`: the tape keeps only what `body` passes to
 * `save`. The backward frees the upstream gradient once the input gradients exist: the tape would
 * otherwise hold every activation gradient until the whole backward ends.
 */
export function compressedOp(
  inputs: tf.Tensor[],
  body: (save: (tensors: tf.Tensor[]) => void) => CompressedOp,
): tf.Tensor {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const { value, gradFunc } = body(save);
    return {
      value,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const g = Array.isArray(dy) ? dy[0] : dy;
        const grads = tf.tidy(() => gradFunc(g, saved));
        if (!grads.includes(g)) g.dispose();
        return grads;
      },
    };
  });
  return op(...inputs);
}
