// Label smoothing (Szegedy et al. 2016), a HAET recipe part: the one-hot target y becomes
// (1 - eps) y + eps / K over K classes. It changes the training loss only: evaluation keeps the
// plain loss (the loop evaluates with its own, not the step hook's).
import * as tf from '@tensorflow/tfjs';
import { type Loss, PROBABILITY_FLOOR } from '../train/loss.js';

export function smoothLabels(ys: tf.Tensor, eps: number): tf.Tensor {
  const k = ys.shape[ys.shape.length - 1] as number;
  return tf.tidy(() => tf.add(tf.mul(ys, 1 - eps), eps / k));
}

/** The classification loss `base` ('logits' or 'probabilities') with smoothed targets. */
export function labelSmoothingLoss(base: Loss, eps: number): Loss {
  if (!(eps > 0 && eps < 1)) throw new Error(`label smoothing must be in (0, 1), got ${eps}`);
  if (base.name === 'mse')
    throw new Error('label smoothing applies to classification losses, not mse');
  const perSample = (ys: tf.Tensor, out: tf.Tensor) =>
    tf.tidy(() => {
      const t = smoothLabels(ys, eps);
      const logp =
        base.name === 'logits' ? tf.logSoftmax(out) : tf.log(tf.maximum(out, PROBABILITY_FLOOR));
      return tf.neg(tf.sum(tf.mul(t, logp), -1));
    });
  return {
    name: base.name,
    mean: (ys, out) => tf.tidy(() => tf.mean(perSample(ys, out)) as tf.Scalar),
    sum: (ys, out) => tf.tidy(() => tf.sum(perSample(ys, out)) as tf.Scalar),
  };
}
