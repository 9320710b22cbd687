// Two or more training setups given the same wall-clock training budget, interleaved: each arm
// trains in slices of `sliceMs` in turn (the order alternates every round), so that a change in the
// load of a shared machine falls on every arm alike. An arm keeps its model and optimizer across
// slices (one `train` call per slice with the arm's persistent optimizer); every slice draws its
// batches from a new permutation that all arms share. An arm's clock counts its setup (e.g. patch
// whitening) and its steps (batch gathering included) and not the test evaluation after each slice.
// An arm's RaceClock reads that clock mid-slice (a time-budget learning-rate schedule runs on it).
import type * as tf from '@tensorflow/tfjs';
import type { ClassificationData } from '../../src/data/dataset.js';
import type { StepHooks } from '../../src/train/gradients.js';
import { train } from '../../src/train/loop.js';

/** An arm's training clock: ms of its budget used so far, read at any moment of the race. */
export class RaceClock {
  usedMs = 0;
  sliceStart: number | null = null;
  readonly ms = (): number =>
    this.usedMs + (this.sliceStart === null ? 0 : performance.now() - this.sliceStart);
}

export interface RaceArm {
  name: string;
  model: tf.LayersModel;
  optimizer: tf.Optimizer;
  hooks?: StepHooks;
  /** Time already spent preparing the arm (counted against its budget). */
  setupMs?: number;
  /** Kept up to date by the race (created before the arm's hooks, which may read it). */
  clock?: RaceClock;
}

export interface RacePoint {
  seconds: number;
  steps: number;
  acc: number;
}

export interface RaceResult {
  name: string;
  /** Accuracy on the test split after the last slice. */
  acc: number;
  /** Training seconds actually used (the budget plus the last step's overshoot). */
  seconds: number;
  steps: number;
  curve: RacePoint[];
}

export async function budgetRace(
  arms: RaceArm[],
  data: ClassificationData,
  o: { budgetMs: number; sliceMs: number; batchSize: number; learningRate: number; seed: number },
): Promise<RaceResult[]> {
  const state = arms.map((a) => ({
    arm: a,
    usedMs: a.setupMs ?? 0,
    steps: 0,
    curve: [] as RacePoint[],
  }));
  // A slice shorter than this is not started (it would still take one whole step).
  const minSliceMs = 100;
  for (let round = 0; ; round++) {
    const order = round % 2 === 0 ? state : [...state].reverse();
    let trained = false;
    for (const s of order) {
      const left = o.budgetMs - s.usedMs;
      if (left < minSliceMs) continue;
      trained = true;
      const t0 = performance.now();
      let lastStep = t0;
      if (s.arm.clock) {
        s.arm.clock.usedMs = s.usedMs;
        s.arm.clock.sliceStart = t0;
      }
      const r = await train(
        s.arm.model,
        data,
        {
          epochs: 1,
          batchSize: o.batchSize,
          learningRate: o.learningRate,
          seed: o.seed * 1000 + round,
          measureMemory: false,
        },
        {
          optimizer: s.arm.optimizer,
          hooks: s.arm.hooks,
          timeBudgetMs: Math.min(o.sliceMs, left),
          onProgress: (e) => {
            if (e.kind === 'step') {
              lastStep = performance.now();
              s.steps++;
            }
          },
        },
      );
      s.usedMs += lastStep - t0;
      if (s.arm.clock) {
        s.arm.clock.usedMs = s.usedMs;
        s.arm.clock.sliceStart = null;
      }
      s.curve.push({ seconds: s.usedMs / 1000, steps: s.steps, acc: r.testAccuracy });
      console.log(
        `  ${s.arm.name}: ${(s.usedMs / 1000).toFixed(1)} s, ${s.steps} steps, acc ${r.testAccuracy.toFixed(4)}`,
      );
    }
    if (!trained) break;
  }
  return state.map((s) => {
    const last = s.curve[s.curve.length - 1];
    return {
      name: s.arm.name,
      acc: last.acc,
      seconds: s.usedMs / 1000,
      steps: s.steps,
      curve: s.curve,
    };
  });
}
