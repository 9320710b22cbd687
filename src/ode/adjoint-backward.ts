import * as tf from '@tensorflow/tfjs';
import { axpy } from './fixed-step.js';
import type { ButcherTableau } from './tableaus.js';

/** dz/dt = f(t, z; params), with the parameters as explicit tensors (needed by the adjoints). */
export type ParamOdeFn = (t: number, z: tf.Tensor, params: tf.Tensor[]) => tf.Tensor;

export interface AdjointBackwardOptions {
  f: ParamOdeFn;
  params: tf.Tensor[];
  tableau: ButcherTableau;
  t0: number;
  t1: number;
  /** Backward steps from t1 to t0. */
  steps: number;
  /** dL/dz(t1). */
  a1: tf.Tensor;
  /**
   * The adjoint method: z(t1), re-solved backward along with the adjoint. Give this or `zAt`.
   */
  z1?: tf.Tensor;
  /** IRDM: z(t) read from elsewhere (interpolation); nothing about z is integrated. */
  zAt?: (t: number) => tf.Tensor;
}

/**
 * z(t1) as a `tf.customGrad` op of z0 and `params` whose gradient integrates the adjoint
 * equations from t1 back to t0 in `o.backwardSteps` steps (see `adjointBackward`). `forward(x0,
 * ps, save)` solves without a tape, saves what the backward needs and returns z(t1); `zOf(saved)`
 * says where the backward reads z: `{ z1 }` (re-solved backward) or `{ zAt }` (with a `dispose`
 * called after the backward).
 */
export function adjointGradOp(
  f: ParamOdeFn,
  z0: tf.Tensor,
  params: tf.Tensor[],
  o: { tableau: ButcherTableau; t0: number; t1: number; backwardSteps: number },
  forward: (x0: tf.Tensor, ps: tf.Tensor[], save: tf.GradSaveFunc) => tf.Tensor,
  zOf: (saved: tf.Tensor[]) => Pick<AdjointBackwardOptions, 'z1' | 'zAt'> & { dispose?(): void },
): tf.Tensor {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args.pop() as tf.GradSaveFunc;
    const [x0, ...ps] = args as tf.Tensor[];
    return {
      value: forward(x0, ps, save),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const { dispose, ...z } = zOf(saved);
        try {
          return adjointBackward({
            f,
            params: ps,
            tableau: o.tableau,
            t0: o.t0,
            t1: o.t1,
            steps: o.backwardSteps,
            a1: dy as tf.Tensor,
            ...z,
          });
        } finally {
          dispose?.();
        }
      },
    };
  });
  return op(z0, ...params);
}

interface EngineTapeState {
  state: { activeTape: unknown; gradientDepth: number };
}

/**
 * f(t, z) and the vector-Jacobian products a^T df/dz, a^T df/dparams. This runs inside a
 * `tf.customGrad` backward, where tfjs (4.22) has no public way to take a gradient: an inner
 * `tf.grads` at gradient depth 0 replaces the engine's active tape and then sets it to null,
 * which breaks the enclosing `tf.grads` ("Cannot read properties of null"). So the outer tape
 * is put back after the inner gradient (its own tape is cleaned up by the inner call).
 */
export function vjp(
  f: ParamOdeFn,
  t: number,
  z: tf.Tensor,
  params: tf.Tensor[],
  a: tf.Tensor,
): { value: tf.Tensor; grads: tf.Tensor[] } {
  const engine = tf.engine() as unknown as EngineTapeState;
  const outer = engine.state.activeTape;
  try {
    return tf.valueAndGrads((zz: tf.Tensor, ...ps: tf.Tensor[]) => f(t, zz, ps))([z, ...params], a);
  } finally {
    if (engine.state.gradientDepth === 0) engine.state.activeTape = outer;
  }
}

/**
 * Integrates the adjoint system backward from t1 to t0 with a fixed-step RK method:
 *   da/dt = -a^T df/dz,  dg/dt = -a^T df/dtheta,  a(t1) = dL/dz(t1), g(t1) = 0,
 * (and dz/dt = f for the adjoint method), giving a(t0) = dL/dz0 and g(t0) = dL/dtheta. Each
 * stage costs one vector-Jacobian product of f. Only the current state is kept: memory does not
 * grow with the step count. Returns [dL/dz0, ...dL/dparams].
 */
export function adjointBackward(o: AdjointBackwardOptions): tf.Tensor[] {
  const { f, params, tableau: tab } = o;
  if ((o.z1 === undefined) === (o.zAt === undefined))
    throw new Error('adjointBackward: give exactly one of z1 (adjoint) and zAt (IRDM)');
  const h = -(o.t1 - o.t0) / o.steps;
  let z: tf.Tensor | undefined = o.z1 ? tf.clone(o.z1) : undefined;
  let a = tf.clone(o.a1);
  let g = params.map((p) => tf.zerosLike(p));
  for (let n = 0; n < o.steps; n++) {
    const t = o.t1 + n * h;
    const next = tf.tidy(() => {
      const kz: tf.Tensor[] = [];
      const ka: tf.Tensor[] = [];
      const kg: tf.Tensor[][] = [];
      for (let i = 0; i < tab.c.length; i++) {
        const ti = t + tab.c[i] * h;
        const wi = tab.a[i].map((x) => x * h);
        const zi = z ? axpy(z, kz, wi) : (o.zAt as (t: number) => tf.Tensor)(ti);
        const ai = axpy(a, ka, wi);
        const { value, grads } = vjp(f, ti, zi, params, ai);
        kz.push(value);
        ka.push(tf.neg(grads[0]));
        kg.push(grads.slice(1).map((x) => tf.neg(x)));
      }
      const wb = tab.b.map((x) => x * h);
      const zNext = z ? axpy(z, kz, wb) : undefined;
      const aNext = axpy(a, ka, wb);
      const gNext = g.map((gj, j) =>
        axpy(
          gj,
          kg.map((k) => k[j]),
          wb,
        ),
      );
      return { zNext, aNext, gNext };
    });
    z?.dispose();
    a.dispose();
    tf.dispose(g);
    z = next.zNext;
    a = next.aNext;
    g = next.gNext;
  }
  z?.dispose();
  return [a, ...g];
}
