import * as tf from '@tensorflow/tfjs';
import { adjointGradOp, type ParamOdeFn } from './adjoint-backward.js';
import { checkAdjointSteps, odeintFixed } from './fixed-step.js';
import type { ButcherTableau } from './tableaus.js';

export interface FixedSolveOptions {
  t0: number;
  t1: number;
  steps: number;
  tableau: ButcherTableau;
  /** Steps of the backward solve (default: `steps`). */
  backwardSteps?: number;
}

/**
 * z(t1) with gradients by the adjoint method (Chen et al. 2018): the forward solve runs without
 * a tape and saves only z(t1); the backward pass re-solves z backward in time together with the
 * adjoint a = dL/dz and the parameter gradient (see `adjointBackward`). Activation memory does
 * not depend on the step count. The gradient is that of the continuous problem, accurate to the
 * solver's order (not the exact gradient of the discrete forward).
 */
export function adjointSolve(
  f: ParamOdeFn,
  z0: tf.Tensor,
  params: tf.Tensor[],
  o: FixedSolveOptions,
): tf.Tensor {
  const backwardSteps = checkAdjointSteps('adjoint', o);
  return adjointGradOp(
    f,
    z0,
    params,
    { ...o, backwardSteps },
    (x0, ps, save) => {
      const z1 = tf.tidy(() =>
        odeintFixed((t, z) => f(t, z, ps), x0, {
          t0: o.t0,
          t1: o.t1,
          steps: o.steps,
          tableau: o.tableau,
        }),
      );
      save([z1]);
      return z1;
    },
    (saved) => ({ z1: saved[0] }),
  );
}
