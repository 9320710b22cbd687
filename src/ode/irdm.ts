import * as tf from '@tensorflow/tfjs';
import type { FixedSolveOptions } from './adjoint.js';
import { adjointGradOp, type ParamOdeFn } from './adjoint-backward.js';
import {
  barycentricCoefficients,
  chebyshevGauss,
  chebyshevLobatto,
  type InterpolationNodes,
  type NodeFamily,
} from './barycentric.js';
import { checkAdjointSteps, rkStep } from './fixed-step.js';

export interface IrdmOptions extends FixedSolveOptions {
  /** Interpolation nodes stored by the forward pass (>= 2). Default 8. */
  nodes?: number;
  /** Node family; Lobatto (default) includes t0 and t1, whose states are known exactly. */
  family?: NodeFamily;
}

export function irdmNodes(o: IrdmOptions): InterpolationNodes {
  const n = o.nodes ?? 8;
  if (!Number.isInteger(n) || n < 2)
    throw new Error(`irdm: nodes must be an integer >= 2, got ${String(n)}`);
  return (o.family ?? 'lobatto') === 'lobatto'
    ? chebyshevLobatto(n, o.t0, o.t1)
    : chebyshevGauss(n, o.t0, o.t1);
}

/**
 * z(t) = sum_k l_k(t) z_k from the stored node states, as one [1, n] x [n, size] product (one
 * op per evaluation instead of n scaled adds). The stacked copy lives for the backward pass only.
 */
function interpolator(
  zs: tf.Tensor[],
  nodes: InterpolationNodes,
): {
  at: (t: number) => tf.Tensor;
  dispose: () => void;
} {
  const shape = zs[0].shape;
  const stacked = tf.tidy(() => tf.stack(zs.map((z) => z.reshape([-1]))) as tf.Tensor2D);
  return {
    at: (t) =>
      tf.tidy(() =>
        tf
          .matMul(tf.tensor2d([barycentricCoefficients(nodes.x, nodes.w, t)]), stacked)
          .reshape(shape),
      ),
    dispose: () => stacked.dispose(),
  };
}

/**
 * z(t1) with gradients by the interpolated reverse dynamic method (IRDM, Daulbaev et al. 2020).
 * The forward solve (no tape) takes the solver's usual uniform steps and stores z at the
 * Chebyshev nodes (a node inside a step is reached by a side step of the same tableau from the
 * step's start, so the main trajectory is exactly the plain solve). The backward pass integrates
 * only the adjoint and parameter equations, reading z(t) by barycentric interpolation of the
 * stored nodes: no backward re-solve of z (whose instability is the adjoint method's weak point),
 * and memory of `nodes` states whatever the step count.
 */
export function irdmSolve(
  f: ParamOdeFn,
  z0: tf.Tensor,
  params: tf.Tensor[],
  o: IrdmOptions,
): tf.Tensor {
  const backwardSteps = checkAdjointSteps('irdm', o);
  const nodes = irdmNodes(o);
  const forward = (x0: tf.Tensor, ps: tf.Tensor[], save: tf.GradSaveFunc) => {
    const fz = (t: number, z: tf.Tensor) => f(t, z, ps);
    const stored: (tf.Tensor | undefined)[] = nodes.x.map(() => undefined);
    const h = (o.t1 - o.t0) / o.steps;
    const eps = 1e-12 * Math.max(1, Math.abs(o.t0), Math.abs(o.t1));
    let z = tf.clone(x0);
    let k = 0;
    for (let n = 0; n < o.steps; n++) {
      const t = o.t0 + n * h;
      const tNext = n === o.steps - 1 ? o.t1 : t + h;
      // Nodes in [t, tNext): the one at t is z itself, later ones a side step away.
      while (k < nodes.x.length && nodes.x[k] < tNext - eps) {
        const dt = nodes.x[k] - t;
        stored[k] = Math.abs(dt) <= eps ? tf.clone(z) : rkStep(fz, t, z, dt, o.tableau);
        k++;
      }
      const next = rkStep(fz, t, z, h, o.tableau);
      z.dispose();
      z = next;
    }
    for (; k < nodes.x.length; k++) stored[k] = tf.clone(z);
    const zs = stored as tf.Tensor[];
    save(zs);
    tf.dispose(zs);
    return z;
  };
  return adjointGradOp(f, z0, params, { ...o, backwardSteps }, forward, (saved) => {
    const z = interpolator(saved, nodes);
    return { zAt: z.at, dispose: z.dispose };
  });
}
