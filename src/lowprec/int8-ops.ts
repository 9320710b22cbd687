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

/**
 * A product `forward(Q_a(x), Q_w(w))` with the bifurcated backward: `weightGrad(xq, dy)` from the
 * float32 dy, `inputGrad(dyq, wq, xq)` from dy stochastically rounded to `gradients` bits.
 */
function lowPrecisionProduct<T extends tf.Tensor>(
  x: T,
  w: T,
  spec: LowPrecisionSpec,
  nextSeed: () => number,
  op: {
    forward: (xq: T, wq: T) => T;
    weightGrad: (xq: T, dy: T) => T;
    inputGrad: (dyq: T, wq: T, xq: T) => T;
  },
): T {
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xa, wa] = args as T[];
    const save = args[2] as tf.GradSaveFunc;
    const xq = affineFakeQuant(xa, spec.activations) as T;
    const wq = affineFakeQuant(wa, spec.weights) as T;
    save([xq, wq]);
    return {
      value: op.forward(xq, wq),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, ws] = saved as T[];
        const dW = op.weightGrad(xs, dy as T);
        const dyq = stochasticRoundTensor(dy, spec.gradients, nextSeed()) as T;
        const dx = op.inputGrad(dyq, ws, xs);
        dyq.dispose();
        return [dx, dW];
      },
    };
  });
  return f(x, w) as T;
}

export function lowPrecisionMatMul(
  x: tf.Tensor2D,
  w: tf.Tensor2D,
  spec: LowPrecisionSpec,
  nextSeed: () => number,
): tf.Tensor2D {
  return lowPrecisionProduct(x, w, spec, nextSeed, {
    forward: (xq, wq) => tf.matMul(xq, wq),
    weightGrad: (xs, dy) => tf.matMul(xs, dy, true, false),
    inputGrad: (dyq, ws) => tf.matMul(dyq, ws, false, true),
  });
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
  return lowPrecisionProduct(x, w, spec, nextSeed, {
    forward: (xq, wq) => tf.conv2d(xq, wq, strides, pad),
    weightGrad: (xs, dy) =>
      tf.engine().runKernel('Conv2DBackpropFilter', { x: xs, dy }, {
        strides,
        pad,
        dataFormat: 'NHWC',
        dimRoundingMode: undefined,
        filterShape: w.shape,
      } as unknown as tf.NamedAttrMap) as tf.Tensor4D,
    inputGrad: (dyq, ws, xs) => tf.conv2dTranspose(dyq, ws, xs.shape, strides, pad),
  });
}
