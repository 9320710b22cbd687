import { type Command, InvalidArgumentError } from 'commander';
import { ODENET_NORMS, type OdenetConfig, type OdenetNorm } from '../models/odenet.js';
import { ODE_FUNC_NORMS, type OdeFuncNorm } from '../ode/ode-func.js';
import { ODE_GRADIENTS, type OdeGradient, type SolveConfig } from '../ode/solve.js';
import { SOLVERS, type SolverName } from '../ode/tableaus.js';
import { oneOf, positiveInt, positiveNumber } from './parse.js';

/** `frugal train` options of the odenet zoo model (neural ODEs). */
export interface OdeCliOptions {
  solver?: SolverName;
  solverU?: number;
  solverV?: number;
  /** Solver smoothing: rk2's u drawn per batch from [low, high]. */
  solverSmoothing?: [number, number];
  odeGrad?: OdeGradient;
  odeSteps?: number;
  odeNodes?: number;
  odeRtol?: number;
  odeAtol?: number;
  odeMaxSteps?: number;
  odeNorm?: OdeFuncNorm;
  odenetNorm?: OdenetNorm;
}

function finiteNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n))
    throw new InvalidArgumentError(`expected a number, got '${value}'`);
  return n;
}

function range(value: string): [number, number] {
  const parts = value.split(',').map((s) => Number(s));
  if (parts.length !== 2 || parts.some((x) => !Number.isFinite(x)) || !(parts[1] > parts[0]))
    throw new InvalidArgumentError(`expected 'low,high' with low < high, got '${value}'`);
  return [parts[0], parts[1]];
}

export function addOdeOptions(cmd: Command): Command {
  return cmd
    .option(
      '--solver <name>',
      `odenet ODE solver: ${SOLVERS.join(', ')} (rk2/rk3/rk4u are the parametric families)`,
      oneOf(SOLVERS, 'ODE solver'),
    )
    .option('--solver-u <u>', 'parameter u of rk2 (0, 1], rk3 and rk4u', finiteNumber)
    .option('--solver-v <v>', 'parameter v of rk3 and rk4u', finiteNumber)
    .option(
      '--solver-smoothing <low,high>',
      "solver smoothing: rk2's u drawn per training batch from [low, high]",
      range,
    )
    .option(
      '--ode-grad <method>',
      `odenet gradient: ${ODE_GRADIENTS.join(', ')} (adjoint and irdm: memory flat in the steps)`,
      oneOf(ODE_GRADIENTS, 'ODE gradient'),
    )
    .option('--ode-steps <n>', 'odenet fixed solver steps over [0, 1]', positiveInt)
    .option('--ode-nodes <n>', 'IRDM Chebyshev interpolation nodes (>= 2)', positiveInt)
    .option('--ode-rtol <x>', 'dopri5 relative tolerance', positiveNumber)
    .option('--ode-atol <x>', 'dopri5 absolute tolerance', positiveNumber)
    .option('--ode-max-steps <n>', 'dopri5 step budget', positiveInt)
    .option(
      '--ode-norm <kind>',
      `normalisation inside f: ${ODE_FUNC_NORMS.join(', ')}`,
      oneOf(ODE_FUNC_NORMS, 'ODE normalisation'),
    )
    .option(
      '--odenet-norm <kind>',
      `normalisation around the ODE block: ${ODENET_NORMS.join(', ')}`,
      oneOf(ODENET_NORMS, 'odenet normalisation'),
    );
}

const FLAGS: [keyof OdeCliOptions, string][] = [
  ['solver', '--solver'],
  ['solverU', '--solver-u'],
  ['solverV', '--solver-v'],
  ['solverSmoothing', '--solver-smoothing'],
  ['odeGrad', '--ode-grad'],
  ['odeSteps', '--ode-steps'],
  ['odeNodes', '--ode-nodes'],
  ['odeRtol', '--ode-rtol'],
  ['odeAtol', '--ode-atol'],
  ['odeMaxSteps', '--ode-max-steps'],
  ['odeNorm', '--ode-norm'],
  ['odenetNorm', '--odenet-norm'],
];

/**
 * The odenet config fields the ODE options ask for ({} when none is given). Options that would
 * change nothing are errors: ODE options on another model, dopri5 options on a fixed-step solver,
 * IRDM nodes with another gradient.
 */
export function odenetOptions(model: string, o: OdeCliOptions): Partial<OdenetConfig> {
  const given = FLAGS.filter(([k]) => o[k] !== undefined).map(([, flag]) => flag);
  if (given.length === 0) return {};
  if (model !== 'odenet')
    throw new Error(`${given.join(', ')} only apply to --model odenet (the model is '${model}')`);
  const dopri = ['--ode-rtol', '--ode-atol', '--ode-max-steps'].filter((f) => given.includes(f));
  if (dopri.length > 0 && o.solver !== 'dopri5')
    throw new Error(`${dopri.join(', ')} only apply to --solver dopri5`);
  if (o.solver === 'dopri5' && o.odeSteps !== undefined)
    throw new Error('--ode-steps does not apply to --solver dopri5 (it chooses its steps)');
  if (o.odeNodes !== undefined && o.odeGrad !== 'irdm')
    throw new Error('--ode-nodes only applies to --ode-grad irdm');
  const solve: Partial<SolveConfig> = {
    ...(o.solver !== undefined ? { solver: o.solver } : {}),
    ...(o.solverU !== undefined ? { u: o.solverU } : {}),
    ...(o.solverV !== undefined ? { v: o.solverV } : {}),
    ...(o.odeGrad !== undefined ? { gradient: o.odeGrad } : {}),
    ...(o.odeSteps !== undefined ? { steps: o.odeSteps } : {}),
    ...(o.odeNodes !== undefined ? { nodes: o.odeNodes } : {}),
    ...(o.odeRtol !== undefined ? { rtol: o.odeRtol } : {}),
    ...(o.odeAtol !== undefined ? { atol: o.odeAtol } : {}),
    ...(o.odeMaxSteps !== undefined ? { maxSteps: o.odeMaxSteps } : {}),
  };
  return {
    solve,
    ...(o.solverSmoothing
      ? { smoothing: { low: o.solverSmoothing[0], high: o.solverSmoothing[1] } }
      : {}),
    ...(o.odeNorm !== undefined ? { odeNorm: o.odeNorm } : {}),
    ...(o.odenetNorm !== undefined ? { norm: o.odenetNorm } : {}),
  };
}
