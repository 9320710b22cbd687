// The plain baseline of `frugal train --baseline`, derived by dropping every feature option as a
// group. Every field of TrainCommandOptions has a role here; the `satisfies` clause makes a field
// without one a compile error, so a new flag cannot leak into the baseline unnoticed.
import type { TrainCommandOptions } from './train.js';
import { RECIPE_OPTION_ROLES } from './train-recipes.js';

/**
 * - 'core': what is trained, on what data, for how long, on which backend and kernels; the
 *   baseline keeps it.
 * - 'feature': what makes a run other than plain training (compressed activations, the memory
 *   planner and their settings); the baseline drops it.
 * - 'output': what the compared run writes or prints itself (report, saved model, the table, the
 *   baseline request); the baseline drops it.
 */
export type TrainOptionRole = 'core' | 'feature' | 'output';

export const TRAIN_OPTION_ROLES = {
  model: 'core',
  dataset: 'core',
  epochs: 'core',
  batch: 'core',
  lr: 'core',
  optimizer: 'core',
  backend: 'core',
  seed: 'core',
  trainCount: 'core',
  testCount: 'core',
  maxSteps: 'core',
  progress: 'core',
  fastKernels: 'core',
  workers: 'core',
  threads: 'core',
  parallel: 'core',
  pipeline: 'core',
  stages: 'core',
  microbatches: 'core',
  // odenet's solver and gradient define the model being trained: the baseline keeps them
  solver: 'core',
  solverU: 'core',
  solverV: 'core',
  solverSmoothing: 'core',
  odeGrad: 'core',
  odeSteps: 'core',
  odeNodes: 'core',
  odeRtol: 'core',
  odeAtol: 'core',
  odeMaxSteps: 'core',
  odeNorm: 'core',
  odenetNorm: 'core',
  actLevel: 'feature',
  actBits: 'feature',
  fewbit: 'feature',
  rmm: 'feature',
  rmmKind: 'feature',
  forwardChunk: 'feature',
  perSampleBits: 'feature',
  memoryBudget: 'feature',
  remat: 'feature',
  gradSparsity: 'feature',
  lowPrecision: 'feature',
  gradPruneRate: 'feature',
  transposable: 'feature',
  transposableEvery: 'feature',
  transposableDecay: 'feature',
  transposableRamp: 'feature',
  out: 'output',
  save: 'output',
  overwrite: 'output',
  baseline: 'output',
  print: 'output',
  ...RECIPE_OPTION_ROLES,
} as const satisfies Record<keyof TrainCommandOptions, TrainOptionRole>;

/** The options of the plain run a `--baseline` run is compared with: core options only. */
export function baselineOptions(o: TrainCommandOptions): TrainCommandOptions {
  const plain: Record<string, unknown> = { ...o };
  for (const [field, role] of Object.entries(TRAIN_OPTION_ROLES))
    if (role !== 'core') delete plain[field];
  return { ...(plain as unknown as TrainCommandOptions), baseline: false, print: false };
}

/**
 * The options of the second run a compressed-activation `--baseline` run is compared with:
 * frugal's own layers with float32 saves (ActNN's L0; same forward, chunking and every other
 * option), so the cost of compression itself is shown beside the cost against plain tfjs.
 * Undefined where the run saves no compressed activations: no --act-bits / --act-level /
 * --per-sample-bits, L0 or 32 bits already, or --memory-budget (--act-bits then sets the
 * planner's tapes, not compressed layers).
 */
export function l0BaselineOptions(o: TrainCommandOptions): TrainCommandOptions | undefined {
  if (o.memoryBudget !== undefined) return undefined;
  if (o.actBits === undefined && o.actLevel === undefined && !o.perSampleBits) return undefined;
  if (o.actBits === 32 || o.actLevel === 'L0') return undefined;
  return {
    ...o,
    actLevel: 'L0',
    actBits: undefined,
    perSampleBits: undefined,
    fewbit: undefined,
    rmm: undefined,
    rmmKind: undefined,
    out: undefined,
    save: undefined,
    overwrite: undefined,
    baseline: false,
    print: false,
  };
}
