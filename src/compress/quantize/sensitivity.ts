import * as tf from '@tensorflow/tfjs';
import { resolveLoss } from '../../train/loss.js';
import {
  codecWeightSpecs,
  decodeKernel,
  encodeKernel,
  type KernelCodec,
} from '../packed/kernel-codec.js';
import { asKernelLayer } from '../packed/layer-kernels.js';
import type { AllocationItem } from './bit-allocation.js';

export interface SensitivityOptions {
  candidates: number[];
  codecFor: (bits: number, base: KernelCodec) => KernelCodec;
  layers: string[];
  calibration: tf.Tensor;
  /**
   * With labels the loss is cross-entropy (on logits or softmax probabilities, as the model's
   * output says; other outputs are refused); without, output MSE against the float model.
   */
  labels?: Int32Array;
}

/** Bytes a layer's kernel (+ bias) takes under a codec. */
export function codecBytes(codec: KernelCodec, shape: number[], bias: boolean): number {
  const words = codecWeightSpecs(codec, shape).reduce(
    (s, w) => s + w.shape.reduce((a, b) => a * b, 1),
    0,
  );
  return 4 * (words + (bias ? shape[shape.length - 1] : 0));
}

/**
 * For each layer and bit width: the loss increase on calibration data when only that layer is
 * quantized (its kernel temporarily replaced by the dequantized one), and the layer's size.
 * Float Dense/Conv2D layers only. Restores every kernel.
 */
export function measureSensitivity(model: tf.LayersModel, o: SensitivityOptions): AllocationItem[] {
  const reference = tf.tidy(() => model.predict(o.calibration) as tf.Tensor);
  const labels = o.labels
    ? tf.oneHot(tf.tensor1d(o.labels, 'int32'), reference.shape[1] ?? 1)
    : null;
  // Cross-entropy on the model's own output kind (logits or softmax probabilities).
  const ce = labels ? resolveLoss(model) : null;
  const loss = () =>
    tf.tidy(() => {
      const out = model.predict(o.calibration) as tf.Tensor;
      const l = labels && ce ? ce.mean(labels, out) : tf.losses.meanSquaredError(reference, out);
      return l.dataSync()[0];
    });
  try {
    const base = loss();
    return o.layers.map((name) => {
      const k = asKernelLayer(model.getLayer(name));
      if (k?.codec.bits !== 0 || k.codec.m !== 0) {
        throw new Error(`bit allocation: layer '${name}' is not a float Dense/Conv2D layer`);
      }
      // copies: getWeights() returns the live variables, which setWeights overwrites
      const original = k.layer.getWeights().map((t) => t.clone());
      const kernel = k.kernel();
      const choices = o.candidates.map((bits) => {
        const codec = o.codecFor(bits, k.codec);
        const q = decodeKernel(encodeKernel(kernel, k.kernelShape, codec), k.kernelShape, codec);
        const tensors = [tf.tensor(q, k.kernelShape), ...original.slice(1)];
        k.layer.setWeights(tensors);
        tensors[0].dispose();
        const l = loss();
        return {
          bits,
          cost: codecBytes(codec, k.kernelShape, original.length > 1),
          loss: Math.max(0, l - base),
        };
      });
      k.layer.setWeights(original);
      tf.dispose(original);
      return { name, choices };
    });
  } finally {
    tf.dispose([reference, ...(labels ? [labels] : [])]);
  }
}
