/**
 * The products of 8-bit training (Banner et al., "Scalable methods for 8-bit training"),
 * simulated with float32 tfjs ops:
 * - forward: y = Q_a(x) * Q_w(w), both affine per-tensor at `activations` / `weights` bits;
 * - backward (gradient bifurcation): the input gradient dx = Q_g(dy) * Q_w(w)^T uses the layer
 *   gradient stochastically rounded to `gradients` bits, while the weight gradient
 *   dW = Q_a(x)^T * dy uses the float32 dy (the paper keeps this last product in high precision).
 * The quantizers' gradients are straight-through: the ranges are each tensor's own min/max, so
 * nothing is clipped and the STE is the identity. `nextSeed` gives the rounding draws' seeds.
 */
import * as tf from '@tensorflow/tfjs';
import type { LowPrecisionSpec } from './int8-spec.js';
import { affineFakeQuant, stochasticRoundTensor } from './tensor-quant.js';

export function lowPrecisionMatMul(
  x: tf.Tensor2D,
  w: tf.Tensor2D,
  spec: LowPrecisionSpec,
  nextSeed: () => number,
): tf.Tensor2D {
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xa, wa] = args as tf.Tensor2D[];
    const save = args[2] as tf.GradSaveFunc;
    const xq = affineFakeQuant(xa, spec.activations) as tf.Tensor2D;
    const wq = affineFakeQuant(wa, spec.weights) as tf.Tensor2D;
    save([xq, wq]);
    return {
      value: tf.matMul(xq, wq),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, ws] = saved as tf.Tensor2D[];
        const dW = tf.matMul(xs, dy as tf.Tensor2D, true, false);
        const dyq = stochasticRoundTensor(dy, spec.gradients, nextSeed()) as tf.Tensor2D;
        const dx = tf.matMul(dyq, ws, false, true);
        dyq.dispose();
        return [dx, dW];
      },
    };
  });
  return f(x, w) as tf.Tensor2D;
}

/** conv2d (NHWC, dilation 1) with the same quantized forward and bifurcated backward. */
export function lowPrecisionConv2d(
  x: tf.Tensor4D,
  w: tf.Tensor4D,
  strides: [number, number],
  pad: 'same' | 'valid',
  spec: LowPrecisionSpec,
  nextSeed: () => number,
): tf.Tensor4D {
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xa, wa] = args as tf.Tensor4D[];
    const save = args[2] as tf.GradSaveFunc;
    const xq = affineFakeQuant(xa, spec.activations) as tf.Tensor4D;
    const wq = affineFakeQuant(wa, spec.weights) as tf.Tensor4D;
    save([xq, wq]);
    return {
      value: tf.conv2d(xq, wq, strides, pad),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, ws] = saved as tf.Tensor4D[];
        const dW = tf.engine().runKernel('Conv2DBackpropFilter', { x: xs, dy }, {
          strides,
          pad,
          dataFormat: 'NHWC',
          dimRoundingMode: undefined,
          filterShape: ws.shape,
        } as unknown as tf.NamedAttrMap) as tf.Tensor4D;
        const dyq = stochasticRoundTensor(dy, spec.gradients, nextSeed()) as tf.Tensor4D;
        const dx = tf.conv2dTranspose(dyq, ws, xs.shape, strides, pad);
        dyq.dispose();
        return [dx, dW];
      },
    };
  });
  return f(x, w) as tf.Tensor4D;
}
