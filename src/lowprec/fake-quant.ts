import * as tf from '@tensorflow/tfjs';
import {
  channelRanges,
  codeRange,
  paramsFromRanges,
  type QuantParams,
  type QuantScheme,
  quantizeWith,
} from '../compress/quantize/uniform.js';

/**
 * Fake quantization of a kernel with a straight-through estimator (STE). The forward pass
 * rounds each value to compress's grid (codes from `quantizeWith`, so a converted layer stores
 * exactly the codes training saw) and returns `code * scale + offset`; the backward pass passes
 * the gradient through unchanged where the unclamped code lies inside the scheme's code range
 * and gives 0 where the value was clipped.
 */
export interface FakeQuantResult {
  codes: Uint16Array;
  params: QuantParams;
}

/** Per-output-channel (last axis) min/max parameters of `values`, as compress's encoder uses. */
export function kernelParams(
  values: ArrayLike<number>,
  outChannels: number,
  bits: number,
  scheme: QuantScheme,
): QuantParams {
  const { lo, hi } = channelRanges(values, outChannels, (i) => i % outChannels);
  return paramsFromRanges(lo, hi, bits, scheme);
}

/** Codes, dequantized values and the STE pass-through mask of `values` under `params`. */
export function fakeQuantValues(
  values: ArrayLike<number>,
  params: QuantParams,
  scheme: QuantScheme,
  channelOf: (i: number) => number,
): { codes: Uint16Array; dequantized: Float32Array; inside: Float32Array } {
  const codes = quantizeWith(values, params, scheme, channelOf);
  const [cmin, cmax] = codeRange(params.bits, scheme);
  const dequantized = new Float32Array(values.length);
  const inside = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const c = channelOf(i);
    dequantized[i] = codes[i] * params.scale[c] + params.offset[c];
    const q = Math.round((values[i] - params.offset[c]) / params.scale[c]);
    inside[i] = q >= cmin && q <= cmax ? 1 : 0;
  }
  return { codes, dequantized, inside };
}

/**
 * Fake-quantizes `x` (per channel of the last axis when `params` has one scale per channel,
 * else per tensor) with the STE gradient. Eager only (reads `x`'s values).
 */
export function fakeQuant(x: tf.Tensor, params: QuantParams, scheme: QuantScheme): tf.Tensor {
  const channels = x.shape[x.shape.length - 1] ?? 1;
  if (params.scale.length !== 1 && params.scale.length !== channels) {
    throw new Error(
      `fakeQuant: params have ${params.scale.length} scales, the tensor's last axis has ${channels}`,
    );
  }
  const perChannel = params.scale.length > 1;
  const of = perChannel ? (i: number) => i % channels : () => 0;
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const input = args[0] as tf.Tensor;
    const r = fakeQuantValues(input.dataSync(), params, scheme, of);
    const value = tf.tensor(r.dequantized, input.shape);
    const inside = r.inside;
    return {
      value,
      gradFunc: (dy: tf.Tensor) => tf.tidy(() => tf.mul(dy, tf.tensor(inside, input.shape))),
    };
  });
  return (f as (t: tf.Tensor) => tf.Tensor)(x);
}
