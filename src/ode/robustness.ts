import * as tf from '@tensorflow/tfjs';
import { batches, type ClassificationData } from '../data/dataset.js';
import { makeRng } from '../engine/random.js';
import { withSolve } from './ode-block.js';
import type { SolveConfig } from './solve.js';

/** Logits of a batch (inference mode). */
export type LogitsFn = (xs: tf.Tensor) => tf.Tensor;

export interface AttackOptions {
  /** L-infinity radius (> 0). */
  eps: number;
  /** Valid input range; the attacked input is clipped to it. Default [0, 1]. */
  clip?: [number, number];
}

export interface PgdOptions extends AttackOptions {
  /** Iterations (>= 1). Default 10. */
  steps?: number;
  /** Step size per iteration. Default 2.5 eps / steps. */
  stepSize?: number;
  /** Start from a uniform point of the eps-ball (Madry et al.). Default true. */
  randomStart?: boolean;
  seed?: number;
}

function checkEps(eps: number): void {
  if (!(eps > 0) || !Number.isFinite(eps))
    throw new Error(`attack: eps must be a positive number, got ${eps}`);
}

function inputGradient(logits: LogitsFn, xs: tf.Tensor, ys: tf.Tensor): tf.Tensor {
  return tf.grad((x: tf.Tensor) => tf.losses.softmaxCrossEntropy(ys, logits(x)) as tf.Scalar)(xs);
}

/** FGSM (Goodfellow et al.): x + eps sign(grad_x loss), clipped to the input range. */
export function fgsm(logits: LogitsFn, xs: tf.Tensor, ys: tf.Tensor, o: AttackOptions): tf.Tensor {
  checkEps(o.eps);
  const [lo, hi] = o.clip ?? [0, 1];
  return tf.tidy(() =>
    tf.clipByValue(tf.add(xs, tf.mul(tf.sign(inputGradient(logits, xs, ys)), o.eps)), lo, hi),
  );
}

/**
 * PGD (Madry et al.): `steps` signed-gradient ascent steps on the loss, each projected back onto
 * the L-infinity eps-ball around x and the input range.
 */
export function pgd(logits: LogitsFn, xs: tf.Tensor, ys: tf.Tensor, o: PgdOptions): tf.Tensor {
  checkEps(o.eps);
  const steps = o.steps ?? 10;
  if (!Number.isInteger(steps) || steps < 1)
    throw new Error(`pgd: steps must be a positive integer, got ${steps}`);
  const alpha = o.stepSize ?? (2.5 * o.eps) / steps;
  if (!(alpha > 0)) throw new Error(`pgd: stepSize must be positive, got ${alpha}`);
  const [lo, hi] = o.clip ?? [0, 1];
  const lower = tf.maximum(tf.sub(xs, o.eps), lo);
  const upper = tf.minimum(tf.add(xs, o.eps), hi);
  let x =
    o.randomStart === false
      ? tf.clone(xs)
      : tf.tidy(() =>
          tf.minimum(
            tf.maximum(
              tf.add(xs, tf.randomUniform(xs.shape, -o.eps, o.eps, 'float32', o.seed ?? 0)),
              lower,
            ),
            upper,
          ),
        );
  for (let i = 0; i < steps; i++) {
    const next = tf.tidy(() => {
      const stepped = tf.add(x, tf.mul(tf.sign(inputGradient(logits, x, ys)), alpha));
      return tf.minimum(tf.maximum(stepped, lower), upper);
    });
    x.dispose();
    x = next;
  }
  tf.dispose([lower, upper]);
  return x;
}

export interface RobustnessOptions {
  attack: 'none' | 'fgsm' | 'pgd';
  eps?: number;
  /** Valid input range. Default [0, 1] (MNIST pixels). */
  clip?: [number, number];
  pgd?: Omit<PgdOptions, 'eps'>;
  /** Evaluate on the first `count` test samples. Default all. */
  count?: number;
  batchSize?: number;
}

/**
 * Per-sample correctness (1 correct, 0 wrong) on the first `count` (attacked) test samples, in
 * test-set order; the attack sees the model's own gradients. PGD's random starts depend only on
 * `pgd.seed` and the batch, so two models attacked with the same options see the same samples and
 * the same starts (a paired comparison).
 */
export function robustCorrect(
  model: tf.LayersModel,
  data: ClassificationData,
  o: RobustnessOptions,
): Uint8Array {
  const logits: LogitsFn = (x) => model.apply(x, { training: false }) as tf.Tensor;
  const limit = Math.min(o.count ?? data.test.count, data.test.count);
  if (!Number.isInteger(limit) || limit < 1)
    throw new Error(`robustness: count must be a positive integer, got ${o.count}`);
  const out = new Uint8Array(limit);
  let seen = 0;
  const rng = makeRng(o.pgd?.seed ?? 0);
  for (const b of batches(data, 'test', o.batchSize ?? 100)) {
    if (seen >= limit) {
      tf.dispose([b.xs, b.ys]);
      continue;
    }
    const take = Math.min(b.size, limit - seen);
    const hits = tf.tidy(() => {
      const xs = take < b.size ? b.xs.slice(0, take) : b.xs;
      const ys = take < b.size ? b.ys.slice(0, take) : b.ys;
      const adv =
        o.attack === 'none'
          ? xs
          : o.attack === 'fgsm'
            ? fgsm(logits, xs, ys, { eps: o.eps ?? 0.1, clip: o.clip })
            : pgd(logits, xs, ys, {
                eps: o.eps ?? 0.1,
                clip: o.clip,
                ...o.pgd,
                seed: Math.floor(rng() * 2 ** 31),
              });
      const pred = tf.argMax(logits(adv), -1);
      return tf.equal(pred, tf.argMax(ys, -1)).dataSync();
    });
    for (let i = 0; i < take; i++) out[seen + i] = hits[i] ? 1 : 0;
    seen += take;
    tf.dispose([b.xs, b.ys]);
  }
  return out;
}

/** Accuracy on (attacked) test samples: the mean of `robustCorrect`. */
export function robustAccuracy(
  model: tf.LayersModel,
  data: ClassificationData,
  o: RobustnessOptions,
): number {
  const c = robustCorrect(model, data, o);
  let n = 0;
  for (const v of c) n += v;
  return n / c.length;
}

/**
 * Accuracy (plain or attacked) with each test-time solver in `solvers` (e.g. the training solver
 * with 1x, 2x, 4x steps). The meta-solver papers' criterion: accuracy must not drop when the
 * test solver is stronger than the training one.
 */
export function accuracyBySolver(
  model: tf.LayersModel,
  data: ClassificationData,
  solvers: Partial<SolveConfig>[],
  o: RobustnessOptions,
): { solve: Partial<SolveConfig>; accuracy: number }[] {
  return solvers.map((solve) => ({
    solve,
    accuracy: withSolve(model, solve, () => robustAccuracy(model, data, o)),
  }));
}
