// Neural ODEs: Runge-Kutta solvers (classic, parametric meta-solver families, Dormand-Prince 5(4)),
// gradients by backpropagation, the adjoint method and IRDM, and the OdeBlock layer.

export { adjointSolve, type FixedSolveOptions } from './adjoint.js';
export { adjointBackward, type ParamOdeFn, vjp } from './adjoint-backward.js';
export {
  barycentricCoefficients,
  barycentricInterpolate,
  chebyshevGauss,
  chebyshevLobatto,
  genericWeights,
  type InterpolationNodes,
  type NodeFamily,
} from './barycentric.js';
export { type AdaptiveOptions, type AdaptiveResult, odeintDopri5 } from './dopri5.js';
export {
  checkSpan,
  checkSteps,
  type FixedStepOptions,
  type OdeFn,
  odeintFixed,
  rkStep,
} from './fixed-step.js';
export { type IrdmOptions, irdmNodes, irdmSolve } from './irdm.js';
export {
  checkSmoothing,
  OdeBlock,
  type OdeBlockArgs,
  odeBlocks,
  type SolverSmoothing,
  withSolve,
} from './ode-block.js';
export {
  kernelColumnNorms,
  makeOdeFunc,
  ODE_ACTIVATIONS,
  ODE_FUNC_KINDS,
  ODE_FUNC_NORMS,
  type OdeActivation,
  type OdeFuncKind,
  type OdeFuncNorm,
  type OdeFuncSpec,
  odeFuncWeights,
} from './ode-func.js';
export {
  elementaryWeight,
  gamma,
  orderResidual,
  type RootedTree,
  rootedTrees,
  rowSumDefect,
  stabilityPolynomial,
} from './order-conditions.js';
export {
  type AttackOptions,
  accuracyBySolver,
  fgsm,
  type LogitsFn,
  type PgdOptions,
  pgd,
  type RobustnessOptions,
  robustAccuracy,
  robustCorrect,
} from './robustness.js';
export {
  DEFAULT_SOLVE_CONFIG,
  ODE_GRADIENTS,
  type OdeGradient,
  odeSolve,
  type SolveConfig,
  validateSolveConfig,
} from './solve.js';
export {
  type ButcherTableau,
  DEFAULT_PARAMS,
  DOPRI5,
  EULER,
  FIXED_SOLVERS,
  type FixedSolverName,
  HEUN,
  MIDPOINT,
  RK4,
  rk2,
  rk3,
  rk4uv,
  SOLVERS,
  type SolverName,
  type SolverParams,
  tableauFor,
} from './tableaus.js';
