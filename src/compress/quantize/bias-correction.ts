import * as tf from '@tensorflow/tfjs';
import {
  decodeKernel,
  type EncodeOptions,
  encodeKernel,
  type KernelCodec,
} from '../packed/kernel-codec.js';
import type { KernelLayer } from '../packed/layer-kernels.js';
import type { RegressionData } from './layer-data.js';

/**
 * Bias correction: quantization shifts a layer's expected output by E[x] (W - Wq); add the shift,
 * measured on calibration rows against the float outputs, to the bias.
 */
export function correctBias(
  data: RegressionData,
  k: KernelLayer,
  codec: KernelCodec,
  encode: EncodeOptions & { kernel?: Float32Array; bias?: Float32Array | null },
): { bias: Float32Array; meanAbsShift: number } {
  const kernel = encode.kernel ?? k.kernel();
  const [fanIn, out] = [data.inputs.shape[1], data.targets.shape[1]];
  const bias = encode.bias ?? k.bias() ?? new Float32Array(out);
  const wq = decodeKernel(encodeKernel(kernel, k.kernelShape, codec, encode), k.kernelShape, codec);
  const shift = tf.tidy(() => {
    const y = tf.add(tf.matMul(data.inputs, tf.tensor2d(wq, [fanIn, out])), tf.tensor1d(bias));
    return tf.mean(tf.sub(data.targets, y), 0).dataSync() as Float32Array;
  });
  let total = 0;
  const corrected = bias.map((b, c) => {
    total += Math.abs(shift[c]);
    return b + shift[c];
  });
  return { bias: corrected, meanAbsShift: total / out };
}
