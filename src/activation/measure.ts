import * as tf from '@tensorflow/tfjs';
import { BufferMeter } from '../report/buffer-meter.js';
import { externalMemory } from '../report/external-memory.js';
import { sumBytes } from '../report/memory-meter.js';
import { type Loss, resolveLoss } from '../train/loss.js';
import { type ForwardFn, trainableVariables } from '../train/step.js';

export interface ActivationMemory {
  /** Bytes held for backward at the end of the forward (tensors + tracked external buffers). */
  savedBytes: number;
  /** Peak of forward + backward minus the weight gradients: the activation part of the peak. */
  peakBytes: number;
}

/**
 * Measures the activation memory of one forward + backward on a batch (no optimizer update, so
 * the optimizer's temporaries do not hide the activations), counting each buffer once, plus the
 * JS scratch memory compression uses (tracked in `externalMemory`) at the moment it is held.
 * The loss is `loss`, by default the one the model's output calls for (resolveLoss).
 */
export function activationMemory(
  model: tf.LayersModel,
  forward: ForwardFn,
  xs: tf.Tensor,
  ys: tf.Tensor,
  loss: Loss = resolveLoss(model),
): ActivationMemory {
  const vars = trainableVariables(model);
  const meter = new BufferMeter();
  const ext0 = externalMemory.live;
  let saved = Number.NaN;
  // Peak of tensors + JS scratch together: sampled whenever scratch memory is taken (it is
  // short-lived, and few tensors are allocated while it is held).
  let together = 0;
  const track = externalMemory.track;
  externalMemory.track = (bytes: number) => {
    track.call(externalMemory, bytes);
    together = Math.max(together, meter.current + externalMemory.live - ext0);
  };
  try {
    meter.run(() =>
      tf.tidy(() => {
        const { value, grads } = tf.variableGrads(() => {
          const l = loss.mean(ys, forward(xs, true));
          saved = meter.current + externalMemory.live - ext0;
          return l;
        }, vars);
        tf.dispose([value, ...Object.values(grads)]);
      }),
    );
  } finally {
    externalMemory.track = track;
  }
  return { savedBytes: saved, peakBytes: Math.max(meter.peak, together) - sumBytes(vars) };
}
