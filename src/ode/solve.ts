import type * as tf from '@tensorflow/tfjs';
import { adjointSolve } from './adjoint.js';
import type { ParamOdeFn } from './adjoint-backward.js';
import { checkTolerances, odeintDopri5 } from './dopri5.js';
import { checkSpan, checkSteps, odeintFixed } from './fixed-step.js';
import { irdmSolve } from './irdm.js';
import { SOLVERS, type SolverName, tableauFor } from './tableaus.js';

export const ODE_GRADIENTS = ['backprop', 'adjoint', 'irdm'] as const;
export type OdeGradient = (typeof ODE_GRADIENTS)[number];

/** How an ODE is integrated and differentiated: plain data, checked by `validateSolveConfig`. */
export interface SolveConfig {
  solver: SolverName;
  /** Parameters of rk2 (u), rk3 and rk4u (u, v); null: the family's default. */
  u: number | null;
  v: number | null;
  t0: number;
  t1: number;
  /** Steps of the fixed-step solvers. */
  steps: number;
  /** dopri5 tolerances and step budget. */
  rtol: number;
  atol: number;
  maxSteps: number;
  gradient: OdeGradient;
  /** Backward steps of the adjoint and IRDM (null: `steps`). */
  backwardSteps: number | null;
  /** IRDM interpolation nodes (Chebyshev-Lobatto). */
  nodes: number;
}

export const DEFAULT_SOLVE_CONFIG: SolveConfig = {
  solver: 'rk4',
  u: null,
  v: null,
  t0: 0,
  t1: 1,
  steps: 8,
  rtol: 1e-4,
  atol: 1e-5,
  maxSteps: 200,
  gradient: 'backprop',
  backwardSteps: null,
  nodes: 8,
};

/** Fills defaults and checks every field; the error names the field and the value. */
export function validateSolveConfig(input: Partial<SolveConfig> = {}): SolveConfig {
  const known = new Set(Object.keys(DEFAULT_SOLVE_CONFIG));
  for (const k of Object.keys(input))
    if (!known.has(k))
      throw new Error(`ode config: unknown field '${k}' (known: ${[...known].join(', ')})`);
  const c: SolveConfig = { ...DEFAULT_SOLVE_CONFIG, ...input };
  if (!(SOLVERS as readonly string[]).includes(c.solver))
    throw new Error(`ode config: solver must be one of ${SOLVERS.join(', ')}, got '${c.solver}'`);
  if (!(ODE_GRADIENTS as readonly string[]).includes(c.gradient))
    throw new Error(
      `ode config: gradient must be one of ${ODE_GRADIENTS.join(', ')}, got '${c.gradient}'`,
    );
  checkSpan('ode config', c.t0, c.t1);
  checkSteps('ode config', c.steps);
  if (c.backwardSteps !== null) {
    checkSteps('ode config backwardSteps', c.backwardSteps);
    if (c.gradient === 'backprop')
      throw new Error(
        'ode config: backwardSteps applies to the adjoint and IRDM gradients, not backprop',
      );
  }
  if (!Number.isInteger(c.nodes) || c.nodes < 2)
    throw new Error(`ode config: nodes must be an integer >= 2, got ${String(c.nodes)}`);
  if (c.solver === 'dopri5') {
    checkTolerances(c.rtol, c.atol, c.maxSteps);
    if (c.gradient !== 'backprop')
      throw new Error(
        `ode config: the ${c.gradient} gradient needs a fixed-step solver; dopri5 trains by backprop only`,
      );
  }
  // Builds the tableau once to check the solver parameters (e.g. u = 0 for rk2).
  tableauFor(c.solver, { u: c.u ?? undefined, v: c.v ?? undefined });
  return c;
}

/**
 * Solves dz/dt = f(t, z; params) over [t0, t1] and returns z(t1), differentiable with respect
 * to z0 and params by the configured method.
 */
export function odeSolve(
  f: ParamOdeFn,
  z0: tf.Tensor,
  params: tf.Tensor[],
  config: SolveConfig,
): tf.Tensor {
  const c = config;
  if (c.solver === 'dopri5') {
    const r = odeintDopri5((t, z) => f(t, z, params), z0, {
      t0: c.t0,
      t1: c.t1,
      rtol: c.rtol,
      atol: c.atol,
      maxSteps: c.maxSteps,
    });
    return r.z;
  }
  const tableau = tableauFor(c.solver, { u: c.u ?? undefined, v: c.v ?? undefined });
  const fixed = {
    t0: c.t0,
    t1: c.t1,
    steps: c.steps,
    tableau,
    backwardSteps: c.backwardSteps ?? c.steps,
  };
  switch (c.gradient) {
    case 'backprop':
      return odeintFixed((t, z) => f(t, z, params), z0, fixed);
    case 'adjoint':
      return adjointSolve(f, z0, params, fixed);
    case 'irdm':
      return irdmSolve(f, z0, params, { ...fixed, nodes: c.nodes });
  }
}
