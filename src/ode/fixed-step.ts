import * as tf from '@tensorflow/tfjs';
import type { ButcherTableau } from './tableaus.js';

/** Right-hand side dz/dt = f(t, z). `t` is a plain number; `z` and the result share a shape. */
export type OdeFn = (t: number, z: tf.Tensor) => tf.Tensor;

/** Checks an integration interval: finite ends with t1 > t0. */
export function checkSpan(what: string, t0: number, t1: number): void {
  if (!Number.isFinite(t0) || !Number.isFinite(t1))
    throw new Error(`${what}: t0 and t1 must be finite numbers, got t0 = ${t0}, t1 = ${t1}`);
  if (!(t1 > t0))
    throw new Error(
      `${what}: t1 must be greater than t0 (integrate forward), got t0 = ${t0}, t1 = ${t1}`,
    );
}

export function checkSteps(what: string, steps: number): void {
  if (!Number.isInteger(steps) || steps < 1)
    throw new Error(`${what}: steps must be a positive integer, got ${String(steps)}`);
}

/**
 * Checks the span and the forward and backward step counts of a solve whose backward integrates
 * the adjoint equations (`method` names it in errors); returns the backward step count
 * (`backwardSteps`, default `steps`).
 */
export function checkAdjointSteps(
  method: string,
  o: { t0: number; t1: number; steps: number; backwardSteps?: number },
): number {
  checkSpan(method, o.t0, o.t1);
  checkSteps(method, o.steps);
  const backwardSteps = o.backwardSteps ?? o.steps;
  checkSteps(`${method} backward`, backwardSteps);
  return backwardSteps;
}

/** z + sum_i w_i k_i, skipping zero weights. Returns `z` itself when every weight is zero. */
export function axpy(z: tf.Tensor, ks: tf.Tensor[], w: number[]): tf.Tensor {
  let out = z;
  for (let j = 0; j < w.length; j++) {
    if (w[j] !== 0) out = tf.add(out, tf.mul(ks[j], w[j]));
  }
  return out;
}

/**
 * The stage derivatives k_1..k_s of one explicit RK step from (t, z) with step h (h may be
 * negative: the adjoint integrates backward). `k1` reuses a known f(t, z) (FSAL).
 */
export function rkStages(
  f: OdeFn,
  t: number,
  z: tf.Tensor,
  h: number,
  tab: ButcherTableau,
  k1?: tf.Tensor,
): tf.Tensor[] {
  const ks: tf.Tensor[] = [];
  for (let i = 0; i < tab.c.length; i++) {
    if (i === 0 && k1) {
      ks.push(k1);
      continue;
    }
    const zi = axpy(
      z,
      ks,
      tab.a[i].map((x) => x * h),
    );
    ks.push(f(t + tab.c[i] * h, zi));
  }
  return ks;
}

/** One explicit Runge-Kutta step: z + h sum_i b_i k_i. */
export function rkStep(
  f: OdeFn,
  t: number,
  z: tf.Tensor,
  h: number,
  tab: ButcherTableau,
): tf.Tensor {
  return tf.tidy(() => {
    const ks = rkStages(f, t, z, h, tab);
    const out = axpy(
      z,
      ks,
      tab.b.map((x) => x * h),
    );
    return out === z ? tf.clone(z) : out;
  });
}

export interface FixedStepOptions {
  t0: number;
  t1: number;
  steps: number;
  tableau: ButcherTableau;
  /** Called with each state z(t_n), n = 0..steps (the caller must not dispose it). */
  onState?: (n: number, t: number, z: tf.Tensor) => void;
}

/**
 * Integrates z' = f(t, z) from t0 to t1 in `steps` equal steps. Made of plain tfjs ops, so a
 * gradient tape records it (backpropagation through the solver: memory grows with the steps).
 * Without a tape, only the current state is kept. Returns z(t1) (a new tensor).
 */
export function odeintFixed(f: OdeFn, z0: tf.Tensor, o: FixedStepOptions): tf.Tensor {
  checkSpan('odeint', o.t0, o.t1);
  checkSteps('odeint', o.steps);
  const h = (o.t1 - o.t0) / o.steps;
  let z = z0;
  o.onState?.(0, o.t0, z0);
  for (let n = 0; n < o.steps; n++) {
    const t = o.t0 + n * h;
    const next = rkStep(f, t, z, h, o.tableau);
    if (z !== z0) z.dispose();
    z = next;
    o.onState?.(n + 1, o.t0 + (n + 1) * h, z);
  }
  return z;
}
