// Model-agnostic knowledge distillation (Hinton et al.; DistilBERT / DistilGPT-2 add hidden-state
// matching): the student learns the teacher's logits at temperature T, the labels, and optionally
// the teacher's features at named layer pairs (MSE). The teacher runs in inference mode outside
// the gradient tape: only the student's pass is recorded.
import * as tf from '@tensorflow/tfjs';
import { type Batch, type ClassificationData, gatherBatch } from '../data/dataset.js';
import { makeRng, permutation } from '../engine/random.js';
import { outputLogits } from '../train/loss.js';
import { defaultForward, type ForwardFn, trainableVariables } from '../train/step.js';

/** A student layer whose output should match a teacher layer's output (same shape). */
export interface FeaturePair {
  student: string;
  teacher: string;
  /** Weight of this pair's MSE in the loss (default 1). */
  weight?: number;
}

export interface DistillOptions {
  /** Softmax temperature of the soft targets (default 2). */
  temperature?: number;
  /** Weight of the hard-label cross-entropy; the soft term gets 1 - alpha (default 0.5). */
  alpha?: number;
  /** Feature / hidden-state pairs matched by MSE, added to the loss with their weights. */
  features?: FeaturePair[];
}

function check(o: DistillOptions): { t: number; alpha: number } {
  const t = o.temperature ?? 2;
  const alpha = o.alpha ?? 0.5;
  if (!(t > 0) || !Number.isFinite(t))
    throw new Error(`distillation temperature must be a positive number, got ${t}`);
  if (!(alpha >= 0 && alpha <= 1))
    throw new Error(`distillation alpha must be in [0, 1], got ${alpha}`);
  for (const f of o.features ?? [])
    if (f.weight !== undefined && !(f.weight >= 0 && Number.isFinite(f.weight)))
      throw new Error(
        `distillation feature pair ${f.student}/${f.teacher}: weight must be >= 0, got ${f.weight}`,
      );
  return { t, alpha };
}

/**
 * Knowledge-distillation loss: alpha CE(labels, student) + (1 - alpha) T^2
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
  if (student.shape.join(',') !== teacher.shape.join(','))
    throw new Error(
      `distillation: student output [${student.shape}] and teacher output [${teacher.shape}] differ`,
    );
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

/** A model returning [logits, ...named layer outputs], cached per model and layer list. */
const TAPS = new WeakMap<tf.LayersModel, Map<string, tf.LayersModel>>();
function tapped(
  model: tf.LayersModel,
  layers: string[],
  who: 'student' | 'teacher',
): tf.LayersModel {
  if (layers.length === 0) return model;
  const key = layers.join('\u0000');
  let byKey = TAPS.get(model);
  if (!byKey) {
    byKey = new Map();
    TAPS.set(model, byKey);
  }
  const hit = byKey.get(key);
  if (hit) return hit;
  const names = new Set(model.layers.map((l) => l.name));
  const outs = layers.map((n) => {
    if (!names.has(n)) throw new Error(`distillation: the ${who} has no layer named ${n}`);
    return model.getLayer(n).output as tf.SymbolicTensor;
  });
  const m = tf.model({ inputs: model.inputs, outputs: [model.outputs[0], ...outs] });
  byKey.set(key, m);
  return m;
}

/** Checks that teacher and student agree on output and feature shapes; errors name the layers. */
export function checkDistillPair(
  student: tf.LayersModel,
  teacher: tf.LayersModel,
  features: FeaturePair[] = [],
): void {
  const so = student.outputs[0].shape.slice(1).join(',');
  const to = teacher.outputs[0].shape.slice(1).join(',');
  if (so !== to)
    throw new Error(`distillation: student output [${so}] and teacher output [${to}] differ`);
  for (const f of features) {
    const s = tapped(student, [f.student], 'student').outputs[1].shape.slice(1).join(',');
    const t = tapped(teacher, [f.teacher], 'teacher').outputs[1].shape.slice(1).join(',');
    if (s !== t)
      throw new Error(
        `distillation: feature pair ${f.student} [${s}] / ${f.teacher} [${t}] have different shapes`,
      );
  }
}

/**
 * One distillation step of `student` against `teacher` on `batch` (the teacher in inference mode,
 * off the tape); returns the loss. Leaves no tensors behind. `forward` replaces the student's
 * forward pass when there are no feature pairs. Either model may output logits (linear) or
 * softmax probabilities: the latter take part as log p, so both losses see logits.
 */
export function distillStep(
  student: tf.LayersModel,
  teacher: tf.LayersModel,
  optimizer: tf.Optimizer,
  batch: Batch,
  options: DistillOptions & { forward?: ForwardFn } = {},
): number {
  check(options);
  const features = options.features ?? [];
  if (features.length > 0 && options.forward)
    throw new Error('distillStep: give feature pairs or a custom forward, not both');
  const sModel = tapped(
    student,
    features.map((f) => f.student),
    'student',
  );
  const tModel = tapped(
    teacher,
    features.map((f) => f.teacher),
    'teacher',
  );
  // Softmax-output models take part through log p (logits up to a constant per row).
  const sLogits = outputLogits(student, 'distillation student');
  const tLogits = outputLogits(teacher, 'distillation teacher');
  const studentForward = options.forward ?? defaultForward(student);
  const forward = (xs: tf.Tensor, training: boolean) => sLogits(studentForward(xs, training));
  // alpha = 1 without feature pairs: labels only, the teacher is not run
  const labelsOnly = (options.alpha ?? 0.5) === 1 && features.length === 0;
  const tOut = tf.tidy(() => {
    if (labelsOnly) return [];
    const o = tModel.apply(batch.xs, { training: false }) as tf.Tensor | tf.Tensor[];
    const outs = Array.isArray(o) ? o : [o];
    return [tLogits(outs[0]), ...outs.slice(1)];
  }) as tf.Tensor[];
  const value = tf.tidy(() => {
    const { value, grads } = tf.variableGrads(() => {
      if (labelsOnly)
        return tf.losses.softmaxCrossEntropy(batch.ys, forward(batch.xs, true)) as tf.Scalar;
      if (features.length === 0)
        return distillationLoss(batch.ys, forward(batch.xs, true), tOut[0], options);
      const sOut = sModel.apply(batch.xs, { training: true }) as tf.Tensor[];
      let loss = distillationLoss(batch.ys, sLogits(sOut[0]), tOut[0], options);
      features.forEach((f, i) => {
        const mse = tf.losses.meanSquaredError(tOut[i + 1], sOut[i + 1]) as tf.Scalar;
        loss = tf.add(loss, tf.mul(mse, f.weight ?? 1)) as tf.Scalar;
      });
      return loss;
    }, trainableVariables(student));
    optimizer.applyGradients(grads);
    return value;
  });
  tf.dispose(tOut);
  const loss = value.dataSync()[0];
  value.dispose();
  return loss;
}

export interface DistillRunOptions extends DistillOptions {
  epochs?: number;
  /** Stop after this many steps (default: all epochs). */
  maxSteps?: number;
  batchSize?: number;
  /** Adam learning rate (default 1e-3) unless `optimizer` is given. */
  learningRate?: number;
  optimizer?: tf.Optimizer;
  seed?: number;
}

/**
 * Distils `teacher` into `student` on the train split of `data` (labels are used with weight
 * `alpha`): `epochs` shuffled passes of distillStep. Returns the per-step losses.
 */
export function distill(
  student: tf.LayersModel,
  teacher: tf.LayersModel,
  data: ClassificationData,
  options: DistillRunOptions = {},
): { steps: number; losses: number[] } {
  check(options);
  checkDistillPair(student, teacher, options.features);
  const epochs = options.epochs ?? 1;
  const batchSize = options.batchSize ?? 32;
  if (!Number.isInteger(epochs) || epochs < 1)
    throw new Error(`distill: epochs must be a positive integer, got ${epochs}`);
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new Error(`distill: batchSize must be a positive integer, got ${batchSize}`);
  const own = options.optimizer === undefined;
  const optimizer = options.optimizer ?? tf.train.adam(options.learningRate ?? 1e-3);
  const rng = makeRng(options.seed ?? 0);
  const losses: number[] = [];
  const max = options.maxSteps ?? Number.POSITIVE_INFINITY;
  try {
    for (let e = 0; e < epochs && losses.length < max; e++) {
      const idx = permutation(data.train.count, rng);
      for (let from = 0; from < data.train.count && losses.length < max; from += batchSize) {
        const to = Math.min(from + batchSize, data.train.count);
        const b = gatherBatch(data.train, data.sampleShape, data.numClasses, idx, from, to);
        try {
          losses.push(distillStep(student, teacher, optimizer, b, options));
        } finally {
          tf.dispose([b.xs, b.ys]);
        }
      }
    }
  } finally {
    if (own) optimizer.dispose();
  }
  return { steps: losses.length, losses };
}
