// Two or more training setups run in turn, one round at a time (the order alternates each round),
// so that a change in the load of a shared machine falls on every arm alike. A round is one epoch
// (or `maxStepsPerEpoch` steps) of `train` with the arm's persistent optimizer; an arm's batch plan
// sees the run's epoch and step numbers (not each call's), so SwiftLearn re-scores on schedule and
// mixed-size draws new sizes. An arm's clock counts its steps and its plan's epoch work (SwiftLearn
// scoring), not the test evaluation after each round.
import type * as tf from '@tensorflow/tfjs';
import type { ClassificationData } from '../../src/data/dataset.js';
import type { BatchPlan } from '../../src/train/batch-plan.js';
import type { StepHooks } from '../../src/train/gradients.js';
import { train } from '../../src/train/loop.js';

export interface InterleavedArm {
  name: string;
  model: tf.LayersModel;
  optimizer: tf.Optimizer;
  plan?: BatchPlan;
  hooks?: StepHooks;
  /** Rounds this arm trains (default: the run's `rounds`). */
  rounds?: number;
  /** Called after each of this arm's rounds (0-based), outside its clock (a measurement). */
  afterRound?: (round: number) => void;
}

export interface CurvePoint {
  seconds: number;
  /** Process CPU seconds over the same spans as `seconds` (wasm runs on one thread). */
  cpuSeconds?: number;
  steps: number;
  acc: number;
}

/** `plan` as seen from a call that starts at run epoch `epoch0 + 1` and run step `step0`. */
function shifted(plan: BatchPlan, epoch0: number, step0: number): BatchPlan {
  const { epochRows, batchSize, transform } = plan;
  return {
    epochRows: epochRows ? (e, d) => epochRows(epoch0 + e, d) : undefined,
    batchSize: batchSize ? (s, b) => batchSize(step0 + s, b) : undefined,
    transform: transform ? (batch, s) => transform(batch, step0 + s) : undefined,
  };
}

export async function interleavedCurves(
  arms: InterleavedArm[],
  data: ClassificationData,
  o: { rounds: number; batchSize: number; seed: number; maxStepsPerEpoch?: number },
): Promise<Record<string, CurvePoint[]>> {
  const state = arms.map((arm) => ({ arm, ms: 0, cpuMs: 0, steps: 0, curve: [] as CurvePoint[] }));
  const cpuNow = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  for (let round = 0; round < Math.max(...arms.map((a) => a.rounds ?? o.rounds)); round++) {
    const order = round % 2 === 0 ? state : [...state].reverse();
    for (const s of order) {
      if (round >= (s.arm.rounds ?? o.rounds)) continue;
      const t0 = performance.now();
      const c0 = cpuNow();
      let last = t0;
      let lastCpu = c0;
      const r = await train(
        s.arm.model,
        data,
        {
          epochs: 1,
          batchSize: o.batchSize,
          seed: o.seed * 1000 + round,
          maxStepsPerEpoch: o.maxStepsPerEpoch ?? 0,
          measureMemory: false,
        },
        {
          optimizer: s.arm.optimizer,
          hooks: s.arm.hooks,
          batchPlan: s.arm.plan ? shifted(s.arm.plan, round, s.steps) : undefined,
          onProgress: (e) => {
            if (e.kind === 'step') {
              last = performance.now();
              lastCpu = cpuNow();
              s.steps++;
            }
          },
        },
      );
      s.ms += last - t0;
      s.cpuMs += lastCpu - c0;
      s.curve.push({
        seconds: s.ms / 1000,
        cpuSeconds: s.cpuMs / 1000,
        steps: s.steps,
        acc: r.testAccuracy,
      });
      s.arm.afterRound?.(round);
    }
  }
  return Object.fromEntries(state.map((s) => [s.arm.name, s.curve]));
}
