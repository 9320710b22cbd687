import type * as tf from '@tensorflow/tfjs';
import type { ForwardFn } from '../train/step.js';
import { buildChain, type Chain, type ChainOptions } from './chain.js';
import { scheduledForward } from './executor.js';
import { type ChainProfile, type ProfileOptions, profileChain } from './profile.js';
import { InfeasibleBudgetError, type Plan, type PlanOptions, planRotor } from './rotor.js';
import { simulate } from './schedule.js';
import { keepEverything } from './summary.js';

export interface RematOptions
  extends PlanOptions,
    Omit<ProfileOptions, 'compressedBits' | 'label'> {
  /** Bit widths of the compressed keep modes the joint planner may use (default [8, 4, 2]). */
  compressedBits?: number[];
  /** Seed of the stochastic rounding of compressed modes. */
  seed?: number;
  /** How finely to split the model (see `ChainOptions`), or 'auto' (default): plan both. */
  split?: ChainOptions['split'] | 'auto';
}

export interface RematPlan {
  chain: Chain;
  profile: ChainProfile;
  plan: Plan;
  /** Pass to `train(model, data, config, {forward})` or `trainStep`. */
  forward: ForwardFn;
}

/**
 * Plans training of `model` within `budgetBytes` of activation memory (the memory meter's
 * `activationBytes`: the step's peak minus weights, gradients, optimizer state and the batch):
 * splits the model into a chain, profiles it on `batch` (same shapes as training batches), runs
 * the Rotor planner (`modes: 'joint'` also considers compressed tapes) and returns a forward
 * that executes the plan. With `split: 'auto'` (the default) both chains are planned (residual
 * blocks whole, and split inside them) and the plan with the smaller predicted overhead wins: the finer chain
 * reaches smaller budgets with recomputation, the whole-block one keeps a compressed block's
 * restores node by node. Throws `InfeasibleBudgetError` naming the smallest workable budget.
 */
export function planRemat(
  model: tf.LayersModel,
  batch: { xs: tf.Tensor; ys: tf.Tensor },
  budgetBytes: number,
  options: RematOptions = {},
): RematPlan {
  const split = options.split ?? 'auto';
  const splits: ('blocks' | 'layers')[] = split === 'auto' ? ['blocks', 'layers'] : [split];
  const joint = options.modes === 'joint';
  const compressedBits = joint ? (options.compressedBits ?? [8, 4, 2]) : [];
  const planned: { chain: Chain; profile: ChainProfile; plan: Plan }[] = [];
  const infeasible: InfeasibleBudgetError[] = [];
  for (const s of splits) {
    const chain = buildChain(model, { split: s });
    const profile = profileChain(chain, batch, {
      repeats: options.repeats,
      optimizer: options.optimizer,
      compressedBits,
      onProgress: options.onProgress,
      label: splits.length > 1 ? `${s} chain` : undefined,
    });
    try {
      planned.push({ chain, profile, plan: planRotor(profile.costs, budgetBytes, options) });
    } catch (e) {
      if (!(e instanceof InfeasibleBudgetError)) throw e;
      infeasible.push(e);
    }
  }
  // Each chain's plan against its own keep-all prediction (the two profiles' stage sums differ);
  // ties go to the whole-block chain (fewer stage boundaries).
  const rel = (p: (typeof planned)[number]) =>
    p.plan.predicted.timeMs /
    simulate(p.profile.costs, keepEverything(p.chain.stages.length)).timeMs;
  const best = planned.sort((x, y) => rel(x) - rel(y))[0];
  if (best === undefined) throw infeasible.sort((x, y) => x.minimumBytes - y.minimumBytes)[0];
  // The least budget over the chains tried, so a report names what any of them can reach.
  const least = Math.min(...planned.map((p) => p.plan.minimumBytes));
  best.plan = { ...best.plan, minimumBytes: least };
  const forward = scheduledForward(best.chain, best.plan.ops, {
    keepBits: [32, ...compressedBits],
    seed: options.seed,
  });
  return { ...best, forward };
}
