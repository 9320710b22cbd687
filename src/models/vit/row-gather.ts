import * as tf from '@tensorflow/tfjs';

/**
 * Rows `indices` of a [n, d] matrix: tf.gather along axis 0 whose gradient is a ScatterNd (rows
 * hit several times are summed) instead of tfjs's UnsortedSegmentSum, which the wasm backend
 * does not have.
 */
export function gatherRows(x: tf.Tensor2D, indices: tf.Tensor1D): tf.Tensor2D {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const a = args[0] as tf.Tensor;
    (args[1] as tf.GradSaveFunc)([indices]);
    const shape = a.shape as [number, number];
    return {
      value: tf.gather(a, indices),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        tf.scatterND(saved[0].expandDims(1), dy, shape),
    };
  });
  return op(x) as tf.Tensor2D;
}
