import * as tf from '@tensorflow/tfjs';
import { axpy, checkSpan, type OdeFn, rkStages } from './fixed-step.js';
import { DOPRI5 } from './tableaus.js';

export interface AdaptiveOptions {
  t0: number;
  t1: number;
  /** Relative tolerance (> 0). Default 1e-5 (float32 tensors: below ~1e-6 is roundoff). */
  rtol?: number;
  /** Absolute tolerance (> 0). Default 1e-6. */
  atol?: number;
  /** Step budget: accepted plus rejected steps. Default 1000. */
  maxSteps?: number;
  /** First step size; default chosen from f(t0, z0) (Hairer, Norsett and Wanner, II.4). */
  h0?: number;
}

export interface AdaptiveResult {
  z: tf.Tensor;
  accepted: number;
  rejected: number;
  /** Evaluations of f. */
  evaluations: number;
}

export function checkTolerances(rtol: number, atol: number, maxSteps: number): void {
  if (!(rtol > 0) || !Number.isFinite(rtol))
    throw new Error(`dopri5: rtol must be a positive number, got ${rtol}`);
  if (!(atol > 0) || !Number.isFinite(atol))
    throw new Error(`dopri5: atol must be a positive number, got ${atol}`);
  if (!Number.isInteger(maxSteps) || maxSteps < 1)
    throw new Error(`dopri5: maxSteps must be a positive integer, got ${maxSteps}`);
}

const SAFETY = 0.9;
const MIN_FACTOR = 0.2;
const MAX_FACTOR = 10;

/** RMS of x / (atol + rtol * max(|a|, |b|)). */
function scaledNorm(x: tf.Tensor, a: tf.Tensor, b: tf.Tensor, rtol: number, atol: number): number {
  return tf.tidy(() => {
    const scale = tf.add(atol, tf.mul(rtol, tf.maximum(tf.abs(a), tf.abs(b))));
    return Math.sqrt(tf.mean(tf.square(tf.div(x, scale))).dataSync()[0]);
  });
}

function initialStep(
  f0: tf.Tensor,
  f: OdeFn,
  t0: number,
  z0: tf.Tensor,
  rtol: number,
  atol: number,
  span: number,
): number {
  const d0 = scaledNorm(z0, z0, z0, rtol, atol);
  const d1 = scaledNorm(f0, z0, z0, rtol, atol);
  let h0 = d0 < 1e-5 || d1 < 1e-5 ? 1e-6 : (0.01 * d0) / d1;
  h0 = Math.min(h0, span);
  const d2 = tf.tidy(() => {
    const z1 = tf.add(z0, tf.mul(f0, h0));
    const f1 = f(t0 + h0, z1);
    return scaledNorm(tf.sub(f1, f0), z0, z0, rtol, atol) / h0;
  });
  const h1 =
    Math.max(d1, d2) <= 1e-15 ? Math.max(1e-6, h0 * 1e-3) : (0.01 / Math.max(d1, d2)) ** (1 / 5);
  return Math.min(100 * h0, h1, span);
}

/**
 * Adaptive Dormand-Prince 5(4) from t0 to t1 with error control per step:
 * err = RMS((z5 - z4) / (atol + rtol max(|z|, |z_next|))) <= 1 accepts the step; the next step
 * is h * clamp(0.9 err^(-1/5), 0.2, 10). Throws when the step budget is spent before t1, or the
 * step size underflows. Differentiable by backpropagation (the accepted steps are on the tape;
 * the step sizes are treated as constants).
 */
export function odeintDopri5(f: OdeFn, z0: tf.Tensor, o: AdaptiveOptions): AdaptiveResult {
  checkSpan('dopri5', o.t0, o.t1);
  const rtol = o.rtol ?? 1e-5;
  const atol = o.atol ?? 1e-6;
  const maxSteps = o.maxSteps ?? 1000;
  checkTolerances(rtol, atol, maxSteps);
  if (o.h0 !== undefined && !(o.h0 > 0))
    throw new Error(`dopri5: h0 must be a positive number, got ${o.h0}`);
  const span = o.t1 - o.t0;
  const tab = DOPRI5;
  const bh = tab.b;
  const errW = tab.b.map((b, i) => b - (tab.bErr as number[])[i]);
  let t = o.t0;
  let z = z0;
  let k1 = f(t, z);
  let evaluations = 1;
  let h = o.h0 ?? initialStep(k1, f, t, z0, rtol, atol, span);
  if (o.h0 === undefined) evaluations++;
  let accepted = 0;
  let rejected = 0;
  const drop = (x: tf.Tensor) => {
    if (x !== z0) x.dispose();
  };
  try {
    while (t < o.t1) {
      if (accepted + rejected >= maxSteps) {
        throw new Error(
          `dopri5: step budget of ${maxSteps} steps exhausted at t = ${t.toPrecision(6)} of [${o.t0}, ${o.t1}] (${accepted} accepted, ${rejected} rejected): raise maxSteps or loosen rtol/atol`,
        );
      }
      const last = t + h >= o.t1 - 1e-12 * Math.abs(o.t1);
      const hStep = last ? o.t1 - t : h;
      if (!(hStep > 1e-12 * Math.max(1, Math.abs(t))))
        throw new Error(
          `dopri5: step size underflow (h = ${hStep}) at t = ${t}: the problem may be stiff`,
        );
      const kOld = k1;
      const [zNext, kLast, err] = tf.tidy(() => {
        const ks = rkStages(f, t, z, hStep, tab, kOld);
        const zn = axpy(
          z,
          ks,
          bh.map((b) => b * hStep),
        );
        const e = axpy(
          tf.zerosLike(z),
          ks,
          errW.map((w) => w * hStep),
        );
        const en = scaledNorm(e, z, zn, rtol, atol);
        return [zn, ks[6], tf.scalar(en)] as [tf.Tensor, tf.Tensor, tf.Scalar];
      });
      evaluations += 6;
      const errNorm = err.dataSync()[0];
      err.dispose();
      const ok = Number.isFinite(errNorm) && errNorm <= 1;
      const factor = !Number.isFinite(errNorm)
        ? MIN_FACTOR
        : errNorm === 0
          ? MAX_FACTOR
          : Math.min(MAX_FACTOR, Math.max(MIN_FACTOR, SAFETY * errNorm ** (-1 / 5)));
      if (ok) {
        accepted++;
        t = last ? o.t1 : t + hStep;
        drop(z);
        kOld.dispose();
        z = zNext;
        k1 = kLast;
        h = hStep * (last ? 1 : factor);
      } else {
        rejected++;
        zNext.dispose();
        kLast.dispose();
        h = hStep * Math.min(1, factor);
      }
    }
  } catch (e) {
    drop(z);
    k1.dispose();
    throw e;
  }
  k1.dispose();
  return { z: z === z0 ? tf.clone(z0) : z, accepted, rejected, evaluations };
}
