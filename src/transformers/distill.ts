import * as tf from '@tensorflow/tfjs';
import type { Batch } from '../data/dataset.js';
import { defaultForward, type ForwardFn, trainableVariables } from '../train/step.js';

export interface DistillOptions {
  /** Softmax temperature of the soft targets (default 2). */
  temperature?: number;
  /** Weight of the hard-label cross-entropy; the soft term gets 1 - alpha (default 0.5). */
  alpha?: number;
}

function check(o: DistillOptions): { t: number; alpha: number } {
  const t = o.temperature ?? 2;
  const alpha = o.alpha ?? 0.5;
  if (!(t > 0) || !Number.isFinite(t))
    throw new Error(`distillation temperature must be a positive number, got ${t}`);
  if (!(alpha >= 0 && alpha <= 1))
    throw new Error(`distillation alpha must be in [0, 1], got ${alpha}`);
  return { t, alpha };
}

/**
 * Knowledge-distillation loss (Hinton et al.): alpha CE(labels, student) + (1 - alpha) T^2
 * KL(softmax(teacher / T) || softmax(student / T)), averaged over every position (last axis =
 * classes). The teacher's logits are constants.
 */
export function distillationLoss(
  labels: tf.Tensor,
  student: tf.Tensor,
  teacher: tf.Tensor,
  options: DistillOptions = {},
): tf.Scalar {
  const { t, alpha } = check(options);
  return tf.tidy(() => {
    const hard = tf.losses.softmaxCrossEntropy(labels, student) as tf.Scalar;
    if (alpha === 1) return hard;
    const pt = tf.softmax(tf.div(teacher, t));
    const logPs = tf.logSoftmax(tf.div(student, t));
    const logPt = tf.log(tf.add(pt, 1e-12));
    const kl = tf.sum(tf.mul(pt, tf.sub(logPt, logPs)), -1).mean() as tf.Scalar;
    return tf.add(tf.mul(hard, alpha), tf.mul(kl, (1 - alpha) * t * t)) as tf.Scalar;
  });
}

/**
 * One distillation training step of `student` against `teacher` (inference mode, no gradient)
 * on `batch`; returns the loss. Leaves no tensors behind.
 */
export function distillStep(
  student: tf.LayersModel,
  teacher: tf.LayersModel,
  optimizer: tf.Optimizer,
  batch: Batch,
  options: DistillOptions & { forward?: ForwardFn } = {},
): number {
  check(options);
  const forward = options.forward ?? defaultForward(student);
  const teacherLogits = tf.tidy(() => teacher.apply(batch.xs, { training: false }) as tf.Tensor);
  const value = tf.tidy(() => {
    const { value, grads } = tf.variableGrads(
      () => distillationLoss(batch.ys, forward(batch.xs, true), teacherLogits, options),
      trainableVariables(student),
    );
    optimizer.applyGradients(grads);
    return value;
  });
  teacherLogits.dispose();
  const loss = value.dataSync()[0];
  value.dispose();
  return loss;
}
