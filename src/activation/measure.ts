import * as tf from '@tensorflow/tfjs';
import { BufferMeter } from '../report/buffer-meter.js';
import { externalMemory } from '../report/external-memory.js';
import { sumBytes } from '../report/memory-meter.js';
import { classificationLoss, type ForwardFn, trainableVariables } from '../train/step.js';

export interface ActivationMemory {
  /** Bytes held for backward at the end of the forward (tensors + tracked external buffers). */
  savedBytes: number;
  /** Peak of forward + backward minus the weight gradients: the activation part of the peak. */
  peakBytes: number;
}

/**
 * Measures the activation memory of one forward + backward on a batch (no optimizer update, so
 * the optimizer's temporaries do not hide the activations), counting each buffer once.
 */
export function activationMemory(
  model: tf.LayersModel,
  forward: ForwardFn,
  xs: tf.Tensor,
  ys: tf.Tensor,
): ActivationMemory {
  const vars = trainableVariables(model);
  const meter = new BufferMeter();
  const ext0 = externalMemory.live;
  externalMemory.resetPeak();
  let saved = Number.NaN;
  meter.run(() =>
    tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => {
        const loss = classificationLoss(ys, forward(xs, true));
        saved = meter.current + externalMemory.live - ext0;
        return loss;
      }, vars);
      tf.dispose([value, ...Object.values(grads)]);
    }),
  );
  return {
    savedBytes: saved,
    peakBytes: meter.peak + (externalMemory.peak - ext0) - sumBytes(vars),
  };
}
