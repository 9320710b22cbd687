import type * as tf from '@tensorflow/tfjs';
import type { ForwardFn } from '../train/step.js';
import { buildChain, type Chain, type ChainOptions } from './chain.js';
import { scheduledForward } from './executor.js';
import { type ChainProfile, type ProfileOptions, profileChain } from './profile.js';
import { type Plan, type PlanOptions, planRotor } from './rotor.js';

export interface RematOptions extends PlanOptions, Omit<ProfileOptions, 'compressedBits'> {
  /** Bit widths of the compressed keep modes the joint planner may use (default [8, 4, 2]). */
  compressedBits?: number[];
  /** Seed of the stochastic rounding of compressed modes. */
  seed?: number;
  /** How finely to split the model (see `ChainOptions`); default 'layers'. */
  split?: ChainOptions['split'];
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
 * splits the model into a chain (inside residual blocks too, by default), profiles it on `batch` (same shapes as training batches), runs
 * the Rotor planner (`modes: 'joint'` also considers compressed tapes) and returns a forward
 * that executes the plan. Throws `InfeasibleBudgetError` naming the smallest workable budget.
 */
export function planRemat(
  model: tf.LayersModel,
  batch: { xs: tf.Tensor; ys: tf.Tensor },
  budgetBytes: number,
  options: RematOptions = {},
): RematPlan {
  const chain = buildChain(model, { split: options.split ?? 'layers' });
  const joint = options.modes === 'joint';
  const compressedBits = joint ? (options.compressedBits ?? [8, 4, 2]) : [];
  const profile = profileChain(chain, batch, {
    repeats: options.repeats,
    optimizer: options.optimizer,
    compressedBits,
  });
  const plan = planRotor(profile.costs, budgetBytes, options);
  const forward = scheduledForward(chain, plan.ops, {
    keepBits: [32, ...compressedBits],
    seed: options.seed,
  });
  return { chain, profile, plan, forward };
}
