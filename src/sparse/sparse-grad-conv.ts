/**
 * conv2d whose backward masks dy N:M before the filter-gradient product. That product contracts
 * batch x height x width; the groups of M run along the batch (for each output position and
 * channel), so the masked weight gradient is unbiased for `mvue` and `approx`. With
 * `pruneInputGrad` the input gradient uses the masked dy too. NHWC, dilation 1.
 */
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../engine/random.js';
import type { GradPrune, PruneStats } from './grad-prune.js';
import { maskGradient } from './sparse-grad-dense.js';

export function sparseGradConv2d(
  x: tf.Tensor4D,
  w: tf.Tensor4D,
  strides: number | [number, number],
  pad: 'same' | 'valid',
  spec: GradPrune,
  rng: Rng,
  pruneInputGrad = false,
  stats?: PruneStats,
): tf.Tensor4D {
  const s2: [number, number] = typeof strides === 'number' ? [strides, strides] : strides;
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xa, wa] = args as tf.Tensor4D[];
    const save = args[2] as tf.GradSaveFunc;
    save([xa, wa]);
    return {
      value: tf.conv2d(xa, wa, s2, pad),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, ws] = saved as tf.Tensor4D[];
        const dyP = maskGradient(dy, spec, rng, stats) as tf.Tensor4D;
        const dW = tf.engine().runKernel('Conv2DBackpropFilter', { x: xs, dy: dyP }, {
          strides: s2,
          pad,
          dataFormat: 'NHWC',
          dimRoundingMode: undefined,
          filterShape: ws.shape,
        } as unknown as tf.NamedAttrMap) as tf.Tensor4D;
        const dx = tf.conv2dTranspose(
          pruneInputGrad ? dyP : (dy as tf.Tensor4D),
          ws,
          xs.shape,
          s2,
          pad,
        );
        dyP.dispose();
        return [dx, dW];
      },
    };
  });
  return f(x, w) as tf.Tensor4D;
}
