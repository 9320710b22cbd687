import * as tf from '@tensorflow/tfjs';
import { batchNormShapesSupported, FAST_BATCH_NORM_GRAD } from './batch-norm-grad.js';

/**
 * Gradient of FusedBatchNorm through frugal's one-pass kernels where the backend has them and
 * the shapes are per-channel or full-size; otherwise the stock gradient `stock`.
 */
export function batchNormGradConfig(stock: tf.GradConfig | undefined): tf.GradConfig {
  return {
    kernelName: 'FusedBatchNorm',
    // The stock gradient saves the first four; the offset tells the shape of its gradient.
    inputsToSave: ['x', 'mean', 'variance', 'scale', 'offset'],
    gradFunc: (dy, saved, attrs) => {
      const [x, mean, variance, scale, offset] = saved as (tf.Tensor | undefined)[];
      const fast =
        x !== undefined &&
        mean !== undefined &&
        variance !== undefined &&
        scale !== undefined &&
        offset !== undefined &&
        tf.getKernel(FAST_BATCH_NORM_GRAD, tf.getBackend()) !== undefined &&
        batchNormShapesSupported(x, [mean, variance, scale, offset]);
      if (!fast) {
        if (!stock) throw new Error('FusedBatchNorm has no stock gradient to fall back on');
        return stock.gradFunc(dy, (saved as tf.Tensor[]).slice(0, 4), attrs);
      }
      const inputs: tf.NamedTensorMap = { x, dy: dy as tf.Tensor, mean, variance, scale, offset };
      const part = (name: string, shape: number[]) => () =>
        (
          tf.engine().runKernel(FAST_BATCH_NORM_GRAD, inputs, {
            part: name,
            varianceEpsilon: attrs.varianceEpsilon as number,
          }) as tf.Tensor
        ).reshape(shape);
      return {
        x: part('x', x.shape),
        mean: part('mean', mean.shape),
        variance: part('variance', variance.shape),
        scale: part('scale', scale.shape),
        offset: part('offset', offset.shape),
      };
    },
  };
}
